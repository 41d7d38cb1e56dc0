"""What keeps a candidate from becoming an indication: names that are no condition names (list lead-ins,
references back, a sentence's continuation), NER proposals nothing in the rules backs, NER spans that
run on into a clause."""

from __future__ import annotations

import pytest

from pipeline.datamodel import Document, DocumentMeta, Section
from pipeline.extract.coverage_model import GroupEvidence
from pipeline.extract.extractor import _before_verb, _decide, _in_instrument_name, _ruled_out, extract, undecided_in_background, unsupported_proposal
from pipeline.extract.indications import clean_name, head_word, is_condition_like, names_a_measure, not_a_name, treats_an_outcome, words
from pipeline.extract.lexicon import load_lexicon

COVERED = {"covered": 0.9, "not_covered": 0.05, "unclear": 0.03, "none": 0.02}


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon()


def _document(text: str) -> Document:
    return Document(text, (Section("indications", "Indications:", "policy", 0, len(text)),), DocumentMeta(), "x.txt", "0", "txt", "X", "1")


@pytest.mark.parametrize(
    "name",
    [
        "Located in the following areas",  # L33436: the item introduces a list of sites
        "Persistent moderate to severe symptoms despite maximal medical management including ALL of the following",
        "mild case of these syndromes",  # a reference back to the conditions named before
        "diagnosis of the patient's condition",
        "with NYHA I, II",  # L39080 "- b. with NYHA I, II or III class; and": continues the lead-in
        "as an alternative",
        "Conversely",  # L36839: a sentence's opening adverb
        "Having trained",  # L35755: a participle clause about staff
        "In some circumstances after diagnosis",  # L34218
        "In some cases",  # IVIG: a sentence's opening phrase
        "In the absence of a State licensing board",  # L35755: a conditional clause, not an absence named as an exclusion
        "both asthma",  # L40050 "patients with both asthma and allergic rhinitis": continues the sentence
        "Medical Conditions for",  # L36839: cut before its object
        "abdominal ultrasound every",  # L35755: a frequency cut before its period
        "50% or more consistent improvement in pain",  # L38841: a limit opens it
        "One to 2 levels",  # L38841: a count of spinal levels
        "Consistent pain relief from previous TPI lasting at least 6 weeks",  # L39713: an outcome
        "Sleep disorder clinics",  # L36839: a place
        "quantify bone mineral density",  # L39268: a purpose, stated as a verb
    ],
)
def test_not_a_name_catches_lead_ins_references_and_continuations(lexicon, name):
    assert not_a_name(name, lexicon)


@pytest.mark.parametrize(
    "name",
    [
        "Chronic inflammatory demyelinating polyneuropathy",
        "post-traumatic neuropathic pain involving these nerve distributions",  # "these" + no generic head
        "restenosis following PTCA",  # "following" as a preposition, not "the following"
        "After substantial weight loss",  # capitalised: an item of its own, not a continuation
        "In situ carcinoma of the breast",  # "in" opens no clause here
        "22q11.2 deletion syndrome",  # a number inside the first word is no limit
        "3-vessel coronary artery disease",
        "Relief-seeking behaviour disorder",  # an outcome word that is not the head
        "Screen-detected ductal carcinoma in situ",  # L37779: a hyphenated word is no verb
    ],
)
def test_not_a_name_keeps_condition_names(lexicon, name):
    assert not not_a_name(name, lexicon)


def test_failure_alone_names_no_condition():
    # "Documented failure or intolerance to conventional therapy" is a step-therapy criterion, "heart failure" a condition
    assert clean_name("failure")[0] == ""
    assert clean_name("Congestive heart failure")[0] == "Congestive heart failure"


def test_condition_words_include_softening_stones_and_rickets(lexicon):
    assert all(is_condition_like(n, lexicon) for n in ("Osteomalacia", "Nephrolithiasis", "Rickets"))
    assert not is_condition_like("ocular hypotensive medication", lexicon)


def test_ner_span_is_cut_before_its_verb(lexicon):
    assert _before_verb("Home sleep testing is not covered for persons", lexicon) == "Home sleep testing"
    assert _before_verb("Hypomagnesemia is associated with hypocalcemia", lexicon) == "Hypomagnesemia"
    assert _before_verb("Chronic kidney disease stage III", lexicon) == "Chronic kidney disease stage III"


def test_l34005_condition_ruled_out_before_an_ner_span():
    text = "Bright red rectal bleeding with a convincing anorectal source and no other symptoms suggestive of a proximal source"
    assert _ruled_out(text, text.index("symptoms suggestive"))
    assert not _ruled_out(text, text.index("rectal bleeding"))


def test_osteopathy_is_a_profession_not_a_condition(lexicon):
    # "prepared by a physician who is a Doctor of Medicine or Osteopathy" (L40050)
    assert not is_condition_like("Osteopathy", lexicon)
    assert is_condition_like("Diabetic neuropathy", lexicon)


def test_ner_proposal_without_cue_in_background_is_dropped():
    background = GroupEvidence(kinds={"ner"}, rules_keep=False, best_section="evidence", names_condition=True)
    assert unsupported_proposal(background)
    assert _decide(background, COVERED)[0] == "none"


def test_ner_proposal_without_cue_in_policy_stays_when_worded_as_a_condition():
    policy = GroupEvidence(kinds={"ner"}, rules_keep=False, best_section="policy", names_condition=True)
    assert not unsupported_proposal(policy)
    assert _decide(policy, COVERED)[0] == "covered"
    fragment = GroupEvidence(kinds={"ner"}, rules_keep=False, best_section="policy", names_condition=False)
    assert unsupported_proposal(fragment)


def test_ner_proposal_under_a_cue_named_as_a_service_is_dropped():
    # "One trabecular stent ... for adults ... on ocular hypotensive medication": a cue, but no condition
    service = GroupEvidence(kinds={"ner"}, rules_keep=True, names_service=True, names_condition=False)
    allergy = GroupEvidence(kinds={"ner"}, rules_keep=True, names_service=False, names_condition=False)
    assert unsupported_proposal(service)
    assert not unsupported_proposal(allergy)  # "allergy to any medication": the head is "allergy"


def test_rule_mentions_are_never_unsupported_proposals():
    item = GroupEvidence(kinds={"item", "ner"}, rules_keep=False, best_section="evidence", names_condition=False)
    assert not unsupported_proposal(item)


def test_candidate_the_rules_alone_would_not_report_stays_only_below_half_none():
    # "IVIG is used in the treatment of primary immunodeficiency diseases featuring low ...": a trigger, no cue
    doubtful = {"covered": 0.31, "not_covered": 0.14, "unclear": 0.09, "none": 0.46}
    unsure = {"covered": 0.24, "not_covered": 0.11, "unclear": 0.09, "none": 0.56}
    trigger = GroupEvidence(kinds={"trigger"}, rules_keep=False, best_section="policy")
    assert _decide(trigger, doubtful)[0] == "covered"
    assert _decide(trigger, unsure)[0] == "none"
    assert _decide(GroupEvidence(kinds={"item"}, rules_keep=True, best_section="policy"), unsure)[0] == "covered"


def test_not_a_name_candidate_is_dropped_whatever_the_classifier_says():
    assert _decide(GroupEvidence(kinds={"item"}, not_a_name=True), COVERED)[0] == "none"


@pytest.mark.parametrize("coverage_model", [None, "default"])
def test_continuation_and_lead_in_items_under_a_covered_list_are_no_indications(coverage_model):
    text = (
        "Cardiac resynchronization therapy is covered for the following conditions:\n"
        "- Hypertrophic cardiomyopathy\n"
        "- with NYHA class III heart failure\n"
        "- Lesions of the following areas of dermatitis:\n"
    )
    names = [i.name for i in extract(_document(text), coverage_model=coverage_model).indications]
    assert names == ["Hypertrophic cardiomyopathy"]


def test_a_condition_inside_a_scoring_instruments_name_is_no_proposal(lexicon):
    text = "- Knee Injury and Osteoarthritis Outcome Score (KOOS)\n- Osteoarthritis with joint destruction\n"
    assert _in_instrument_name(text, text.index(" Outcome"), lexicon)
    assert not _in_instrument_name(text, text.index(" with joint"), lexicon)


def test_negative_cue_in_an_items_own_sentence_denies_it_unless_a_limit_follows_the_cue():
    # the IVIG LCD's item with its "is indicated" turned into "is not indicated": the age limit is the population's
    denied = ("- Hematopoietic stem cell transplantation (HSCT) - IVIG is not indicated to prevent the risk of acute graft-versus-host "
              "disease, associated interstitial pneumonia (infectious or idiopathic) and infections after HSCT in patients 20 years "
              "of age or older during the first 100 days after transplantation.\n")
    limited = ("- Hematopoietic stem cell transplantation (HSCT) - IVIG is indicated to prevent infections after HSCT. "
               "It is not indicated in HSCT patients younger than 20 years of age.\n")
    coverage = lambda text: {i.name: i.coverage for i in extract(_document(text)).indications}  # noqa: E731
    assert coverage(denied)["Hematopoietic stem cell transplantation"] == "not_covered"
    assert coverage(limited)["Hematopoietic stem cell transplantation"] == "covered"


def test_negative_cue_before_a_bare_frequency_denies_and_before_a_written_cap_limits():
    # "not covered once per lifetime" says no; "not covered more than once per lifetime" caps a covered test
    lead = "Whether patients are under treatment for glaucoma or are newly diagnosed, pachymetry will "
    coverage = lambda text: {i.name: i.coverage for i in extract(_document(text)).indications}  # noqa: E731
    assert coverage(lead + "not be covered once per lifetime.\n")["glaucoma"] == "not_covered"
    assert coverage(lead + "be covered once per lifetime.\n")["glaucoma"] == "covered"
    assert coverage(lead + "be covered for glaucoma. Pachymetry will not be covered more than once per lifetime.\n")["glaucoma"] == "covered"


def test_full_stop_after_a_bracket_ends_the_sentence():
    # L34648 "(multiple myeloma and some types of lymphomas). Bisphosphonates ... are indicated for": the cue of the
    # next sentence must not vote on the conditions of the descriptive one
    from pipeline.extract.nlp import build_nlp

    doc = build_nlp()("Most cases occur in patients with lymphomas (multiple myeloma). Bisphosphonates are indicated for hypercalcemia. See J. Smith.")
    assert [s.text for s in doc.sents] == [
        "Most cases occur in patients with lymphomas (multiple myeloma).", "Bisphosphonates are indicated for hypercalcemia.", "See J. Smith.",
    ]


def test_conditions_named_only_in_a_descriptive_sentence_are_no_indications():
    # L34648: epidemiology in the policy text, the decision in the next sentence
    text = ("Most cases of hypercalcemia occur in patients who have breast cancer, renal-cell carcinoma, and certain hematologic "
            "malignancies (multiple myeloma). Bisphosphonates are indicated for hypercalcemia of malignancy.\n")
    names = [i.name.lower() for i in extract(_document(text)).indications]
    assert "hypercalcemia of malignancy" in names
    assert not {"breast cancer", "renal-cell carcinoma", "hematologic malignancies"} & set(names)


def test_described_only_needs_a_background_sentence_and_no_deciding_cue():
    assert _decide(GroupEvidence(kinds={"trigger"}, background=True, rules_keep=False), COVERED)[0] == "none"
    assert _decide(GroupEvidence(kinds={"trigger"}, background=True, rules_keep=True), COVERED)[0] == "covered"
    assert _decide(GroupEvidence(kinds={"trigger"}, background=False, rules_keep=False), COVERED)[0] == "covered"


@pytest.mark.parametrize(
    "name",
    [
        "Tumor size <= 2.5 cm",  # L37779: a criterion of the indication, its limit written in the name
        "At least 75% reduction of pain",
        "International Prostate Symptom Score",  # L38682 "i. International Prostate Symptom Score (IPSS) ≥12"
        "function scales for assessment",
        "Disease severity",  # L33457 "imaging is appropriate in the assessment of: - Disease severity"
        "Pain duration of",
        "dL",
        "Two",
    ],
)
def test_names_of_measures_limits_and_quantities_are_no_condition_names(lexicon, name):
    assert names_a_measure(name, lexicon) and not_a_name(name, lexicon)


@pytest.mark.parametrize(
    "name",
    [
        "High grade stenosis (>70%)",  # the limit in brackets qualifies a named condition
        "chronic back pain of long-standing duration",  # L38213 gold: the duration qualifies the pain
        "Longstanding duration of a squamous cell carcinoma",  # L33436 gold
        "Type 2 diabetes",
        "T4 tumor",
    ],
)
def test_conditions_qualified_by_a_measure_keep_their_name(lexicon, name):
    assert not names_a_measure(name, lexicon)


def test_a_lower_case_name_opening_with_including_continues_a_sentence(lexicon):
    assert not_a_name("including pain", lexicon)
    assert not not_a_name("Including pain", lexicon)  # capitalised: an item of its own


def test_a_heading_for_the_rest_of_a_class_names_no_condition():
    # L35073 "Other Cancers:" heads a paragraph on more cancers; it names none of them
    assert clean_name("Other Cancers:")[0] == ""
    assert clean_name("Malignancies that involve the vertebral column")[0] != ""
    assert clean_name("Other cancers of the head and neck")[0] != ""


def test_a_generic_head_with_a_reference_modifier_names_no_condition():
    assert clean_name("identified condition")[0] == ""
    assert clean_name("conditions known")[0] == ""  # L34328 "patients with conditions known to be responsive"
    assert clean_name("Known coronary artery disease")[0] == "coronary artery disease"


@pytest.mark.parametrize("name", ["chemotherapy agents", "Sleep disorder clinics", "osteoporosis education", "FDA-approved device manufacturer"])
def test_agents_facilities_and_education_are_named_as_services(lexicon, name):
    # L37205 "This LCD addresses the coverage for chemotherapy agents": the NER's proposal names what is paid for
    assert head_word(name) in lexicon.not_conditions
    assert head_word("Allergy to bone cement or opacification agents") == "allergy"  # the allergy heads the name


def test_a_series_phrase_ends_before_a_finite_verb(lexicon):
    # L35121 "For coronary artery imaging, the resulting images show a high correlation with stenotic lesions"
    from pipeline.extract.indications import trigger_mentions

    text = "For coronary artery imaging, the resulting images show a high correlation with stenotic lesions noted on catheterization."
    assert not any(" show " in f" {phrase} " for phrase, _, _ in trigger_mentions(text, 0, lexicon))


def test_a_prose_phrase_ends_where_a_participle_after_a_generic_head_opens_a_clause(lexicon):
    # IVIG "primary immunodeficiency diseases featuring low or dysfunctional antibody levels"
    from pipeline.extract.indications import trigger_mentions

    text = "IVIG is used in the treatment of primary immunodeficiency diseases featuring low antibody levels."
    assert [phrase for phrase, _, _ in trigger_mentions(text, 0, lexicon)] == ["primary immunodeficiency diseases"]
    kept = "Covered for patients with end stage renal disease requiring dialysis."  # the condition stays whole
    assert [phrase for phrase, _, _ in trigger_mentions(kept, 0, lexicon)][0].endswith("end stage renal disease")


def test_l33575_members_of_a_series_in_one_item_are_conditions_of_their_own_not_aliases():
    text = ("Limitations:\n- Sclerotherapy, ligation and/or stripping of varicose veins, or endovenous ablation therapy are generally not "
            "covered for patients with severe distal arterial occlusive disease; obliteration of deep venous system; an allergy to the "
            "sclerosant; or a hypercoaguable state.\n")
    found = {i.name.lower(): i for i in extract(_document(text)).indications}
    # "a hypercoaguable state" (misspelt in the LCD) is no condition word to the rules: only an NER proposal
    # finds it, and the NER retrained in 2026-12 no longer proposes it
    assert {"obliteration of deep venous system", "allergy to the sclerosant"} <= set(found)
    assert not found["allergy to the sclerosant"].aliases


def test_a_listed_condition_only_background_names_without_any_cue_is_no_indication():
    listed = GroupEvidence(kinds={"item"}, rules_keep=False, best_section="evidence", names_condition=True)
    assert undecided_in_background(listed)
    recommended = GroupEvidence(kinds={"trigger"}, rules_keep=True, best_section="evidence", names_condition=True, vote=0.5)
    assert undecided_in_background(recommended)  # IVIG: a guideline quoted in the evidence ("should be considered as a treatment of X")
    assert _decide(listed, COVERED)[0] == "none"
    decided = GroupEvidence(kinds={"item"}, rules_keep=True, best_section="evidence", names_condition=True, vote=1.0, list_vote=1.0)
    assert not undecided_in_background(decided)
    in_policy = GroupEvidence(kinds={"item"}, rules_keep=True, best_section="policy", names_condition=True, policy_mentions=1)
    assert not undecided_in_background(in_policy)


@pytest.mark.parametrize("name, outcome", [
    ("failure of/or contraindication to conservative therapy", True),  # L39529: a criterion
    ("Poor response to pharmacotherapy", True),  # L40050
    ("Unacceptable adverse effects of medications", True),
    ("Heart failure", False),
    ("Failure of the graft", False),
    ("Intolerance to statins", False),  # what it is intolerant to is a drug named, not a treatment word
])
def test_a_name_stating_how_a_treatment_went_is_an_outcome(lexicon, name, outcome):
    assert treats_an_outcome(words(name), lexicon) is outcome


def test_l39543_a_name_keeps_no_bracket_or_joiner_of_the_aside_its_span_runs_into():
    assert clean_name("spinal cord injury)")[0] == "spinal cord injury"
    assert clean_name("fistulae) and /or chronic inflammatory bowel disease")[0] == "chronic inflammatory bowel disease"
    assert clean_name("/or chronic inflammatory bowel disease")[0] == "chronic inflammatory bowel disease"
    assert clean_name("Shortness of breath (dyspnea)")[0] == "Shortness of breath"


def test_l33457_a_name_ends_before_a_bracket_it_opens_and_never_closes_nested_or_not():
    assert clean_name("Systemic hypotension (systolic blood pressure (BP)") == ("Systemic hypotension", None, [])
    assert clean_name("Cognitive impairment (disorientation")[0] == "Cognitive impairment"
    assert clean_name("Polycythemia Vera (PV)")[:2] == ("Polycythemia Vera", "PV")
