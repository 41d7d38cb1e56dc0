"""Indications named in prose sentences of the policy sections: inline series after a coverage verb or a
trigger, joined conditions, family members, and lists written as plain lines; on snippets of train documents."""

from __future__ import annotations

import pytest

from pipeline.datamodel import Document, DocumentMeta, Section
from pipeline.extract import indications
from pipeline.extract.extractor import extract
from pipeline.extract.lexicon import load_lexicon
from pipeline.extract.nlp import build_nlp, cue_patterns, load_trained


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon()


@pytest.fixture(scope="module")
def rules_nlp():
    return build_nlp()


def _document(text: str) -> Document:
    return Document(text, (Section("indications", "Indications:", "policy", 0, len(text)),), DocumentMeta(), "x.txt", "0", "txt", "X", "1")


def _coverage(text: str, nlp) -> dict[str, str]:
    extraction = extract(_document(text), nlp, coverage_model=None)
    return {ind.name: ind.coverage for ind in extraction.indications}


def _names(found: list[tuple[str, int, int]]) -> list[str]:
    return [name for name, _start, _end in found]


def test_l34328_series_after_a_bare_for_is_one_mention_per_condition(lexicon):
    text = "Current peer-reviewed data DOES NOT SUPPORT PNS for fibromyalgia, phantom limb pain, diffuse polyneuropathy, nociceptive pain in trunk or lower back, or angina pectoris."
    assert _names(indications.trigger_mentions(text, 0, lexicon)) == [
        "fibromyalgia", "phantom limb pain", "diffuse polyneuropathy", "nociceptive pain", "angina pectoris",
    ]


def test_a_single_condition_after_a_bare_for_is_no_mention(lexicon):
    # "for X" alone is too common ("for imaging of the eye", "for one year"): only a series opens indications
    assert indications.trigger_mentions("Claims are reviewed for chronic pain.", 0, lexicon) == []


def test_l40050_series_after_the_following_colon_inside_a_sentence(lexicon):
    text = (
        "SCIT may be indicated in the management of the following disorders: allergic rhinitis and/or allergic "
        "conjunctivitis, including seasonal allergic rhinitis; allergic asthma, and atopic dermatitis."
    )
    names = _names(indications.trigger_mentions(text, 0, lexicon))
    assert names[-5:] == ["allergic rhinitis", "allergic conjunctivitis", "seasonal allergic rhinitis", "allergic asthma", "atopic dermatitis"]


def test_series_stops_before_a_guideline_reference_and_an_instrument(lexicon):
    cancer = "MolDX will cover NRAS testing for metastatic colorectal cancer, per National Comprehensive Cancer Network guidelines."
    assert _names(indications.trigger_mentions(cancer, 0, lexicon)) == []  # one condition after a bare "for"
    scales = "Acceptable scales include Visual Analog Scale (VAS) for pain assessment, and Pain Disability Assessment Scale (PDAS)."
    assert "Pain Disability Assessment Scale" not in _names(indications.trigger_mentions(scales, 0, lexicon))


def test_l36839_bracketed_members_of_a_class_are_mentions_but_e_g_examples_are_not(lexicon):
    text = "Home sleep testing is not covered for persons with comorbidities (moderate to severe pulmonary disease, neuromuscular disease or congestive heart failure)."
    assert _names(indications.trigger_mentions(text, 0, lexicon))[1:] == [
        "moderate to severe pulmonary disease", "neuromuscular disease", "congestive heart failure",
    ]
    examples = "Patients with stress incontinence and specific neurologic disease (e.g., multiple sclerosis, spinal cord injury) are excluded."
    assert "multiple sclerosis" not in _names(indications.trigger_mentions(examples, 0, lexicon))


@pytest.mark.parametrize(
    "phrase, parts",
    [
        ("chronic constipation or chronic pelvic pain", ["chronic constipation", "chronic pelvic pain"]),
        ("toxoplasmosis and optic disc edema", ["toxoplasmosis", "optic disc edema"]),
        ("stenosis or occlusion", ["stenosis or occlusion"]),  # one-word near-synonyms stay one entry (12.2)
        ("dilated or restrictive cardiomyopathy", ["dilated or restrictive cardiomyopathy"]),
        ("nociceptive pain in trunk or lower back", ["nociceptive pain in trunk or lower back"]),
    ],
)
def test_split_joined_names_two_conditions_only_when_each_part_is_one(lexicon, phrase, parts):
    assert [phrase[a:b] for a, b in indications.split_joined(phrase, lexicon)] == parts


def test_l39919_family_members_after_include_are_mentions(lexicon):
    text = (
        "Classical BCR-ABL negative MPNs include Polycythemia Vera (PV), Essential Thrombocythemia (ET) and Primary "
        "Myelofibrosis (PMF), and non-classical BCR-ABL negative MPNs include Chronic Neutrophilic Leukemia (CNL) and "
        "Chronic Eosinophilic Leukemia, among other rare entities."
    )
    assert _names(indications.family_members(text, 0, lexicon)) == [
        "Polycythemia Vera", "Essential Thrombocythemia", "Primary Myelofibrosis", "Chronic Neutrophilic Leukemia",
        "Chronic Eosinophilic Leukemia",
    ]


def test_symptoms_that_include_conditions_are_no_family(lexicon):
    assert indications.family_members("Symptoms of the disease include headache, vertigo and tinnitus.", 0, lexicon) == []


def test_l39919_family_members_take_the_decision_of_the_sentence_naming_the_family(rules_nlp):
    text = (
        "Indications:\n"
        "This policy provides limited coverage for single-gene testing of patients with suspected myeloproliferative "
        "neoplasms. Classical MPNs include Polycythemia Vera (PV), Essential Thrombocythemia (ET) and Primary Myelofibrosis (PMF).\n"
    )
    coverage = _coverage(text, rules_nlp)
    assert coverage["Polycythemia Vera"] == coverage["Primary Myelofibrosis"] == "covered"


def test_l34328_prose_exclusion_series_is_not_covered(rules_nlp):
    text = (
        "Indications:\n"
        "Current peer-reviewed data does not support PNS for fibromyalgia, phantom limb pain, or angina pectoris. "
        "Claims for these indications will be denied as not reasonable and necessary.\n"
    )
    assert _coverage(text, rules_nlp) == {"fibromyalgia": "not_covered", "phantom limb pain": "not_covered", "angina pectoris": "not_covered"}


def test_l34218_a_reference_back_to_named_syndromes_is_no_name():
    assert indications.clean_name("mild case of these syndromes")[0] == ""
    assert indications.clean_name("severe forms of this disease")[0] == ""
    assert indications.clean_name("Tourette syndrome")[0] == "Tourette syndrome"


@pytest.mark.parametrize(
    "previous, previous_unmarked, line, expected",
    [
        ("The following are relative contraindications to Dynamic thrust:", False, "Severe demineralization of bone;", True),
        ("Severe demineralization of bone;", True, "Bleeding disorders and anticoagulant therapy; and", True),
        ("Bleeding disorders and anticoagulant therapy; and", True, "Radiculopathy with progressive neurological signs.", True),
        ("Radiculopathy with progressive neurological signs.", True, "The doctor should record this in the chart.", False),
        ("A relative contraindication adds risk.", False, "Severe demineralization of bone;", False),
    ],
)
def test_unmarked_item_is_a_semicolon_line_under_a_colon_lead_in(previous, previous_unmarked, line, expected):
    assert indications.unmarked_item(previous, previous_unmarked, line) is expected


def test_l37254_unmarked_contraindication_list_entries_are_not_covered(rules_nlp):
    text = (
        "Indications:\n"
        "The following are relative contraindications to Dynamic thrust:\n"
        "Benign bone tumors (spine);\n"
        "Bleeding disorders and anticoagulant therapy; and\n"
        "Radiculopathy with progressive neurological signs.\n"
    )
    coverage = _coverage(text, rules_nlp)
    assert coverage["Benign bone tumors"] == coverage["Radiculopathy with progressive neurological signs"] == "not_covered"


def test_trained_pipeline_cue_ruler_reads_the_cue_file():
    nlp = load_trained()
    if nlp is None:
        pytest.skip("no trained pipeline in models/")
    patterns = nlp.get_pipe("coverage_cues").patterns
    assert sorted((p["label"], p["pattern"], p["id"]) for p in patterns) == sorted(
        (p["label"], p["pattern"], p["id"]) for p in cue_patterns(load_lexicon())
    )


def _grouped(named: list[tuple[str, str]], abbreviations: dict[str, str]) -> list[list[str]]:
    """The names of each group `group_mentions` makes of (name, kind) mentions on successive lines."""
    mentions, start = [], 0
    for line, (name, kind) in enumerate(named):
        abbreviation = next((a for a, long in abbreviations.items() if kind == "heading" and long.lower() in name.lower()), None)
        mentions.append(indications.Mention(name, start, start + len(name), line, kind, "policy", abbreviation))
        start += len(name) + 10
    return sorted(sorted(m.name for m in g.mentions) for g in indications.group_mentions(mentions, abbreviations))


def test_l40050_a_negated_name_is_not_grouped_with_the_name_it_excepts():
    named = [("Atopic Dermatitis", "heading"), ("AD due to dust mites", "ner"), ("AD not due to dust mites", "item")]
    assert _grouped(named, {"AD": "Atopic Dermatitis"}) == [["AD due to dust mites", "Atopic Dermatitis"], ["AD not due to dust mites"]]


def test_ivig_acute_and_chronic_subtypes_stay_apart_though_both_contain_the_abbreviation():
    named = [("Chronic Graft versus Host Disease", "heading"), ("GVHD", "ner"), ("acute graft-versus-host disease", "ner")]
    assert _grouped(named, {"GVHD": "Graft versus Host Disease"}) == [
        ["Chronic Graft versus Host Disease", "GVHD"], ["acute graft-versus-host disease"]]


def test_l33457_degrees_of_one_block_stay_apart_though_the_joined_form_contains_both():
    named = [("Second degree atrioventricular block", "item"), ("third degree atrioventricular block", "item"),
             ("Second or third degree atrioventricular block", "ner")]
    assert _grouped(named, {}) == [["Second degree atrioventricular block"], ["Second or third degree atrioventricular block"],
                                   ["third degree atrioventricular block"]]


def test_l38841_series_goes_on_after_a_such_as_aside(lexicon, rules_nlp):
    text = ("Facet joint procedures in patients for the indication of generalized pain conditions (such as fibromyalgia) "
            "or chronic centralized pain syndromes are considered not reasonable and necessary.")
    assert _names(indications.trigger_mentions(text, 0, lexicon))[-1] == "chronic centralized pain syndromes"
    coverage = _coverage(text, rules_nlp)
    assert coverage["generalized pain conditions"] == coverage["chronic centralized pain syndromes"] == "not_covered"


def test_l36575_a_criteria_worded_contraindication_lead_in_makes_each_item_a_not_covered_indication(rules_nlp):
    text = (
        "Limitations:\n"
        "Noridian will not consider a total knee replacement medically necessary when the following contraindications are present:\n"
        "- Active infection of the knee joint or active systemic bacteremia\n"
        "- Rapidly progressive neurological disease\n"
    )
    coverage = _coverage(text, rules_nlp)
    assert coverage["Rapidly progressive neurological disease"] == coverage["Active infection of the knee joint"] == "not_covered"


def test_l34005_a_denial_lead_in_that_also_says_must_have_is_no_criteria_list(rules_nlp):
    text = (
        "Limitations:\n"
        "Endoscopy is generally not covered for treating the following, and records must have additional documentation:\n"
        "- 2. Acute diarrhea;\n"
        "- 3. Hemorrhoids;\n"
    )
    assert _coverage(text, rules_nlp) == {"Acute diarrhea": "not_covered", "Hemorrhoids": "not_covered"}


def test_a_denial_unless_criteria_are_met_keeps_its_items_criteria(rules_nlp, lexicon):
    assert not indications.denies_its_items("The service will be denied unless all of the following criteria are met:", lexicon, -2.0)
    text = (
        "Limitations:\n"
        "The service will be denied unless all of the following criteria are met:\n"
        "- Chronic abdominal pain for at least 3 months;\n"
        "- Failed conservative therapy;\n"
    )
    assert _coverage(text, rules_nlp) == {}


def test_l34005_a_name_cut_inside_a_bracket_drops_the_open_bracket():
    assert indications.clean_name("Routine follow-up of inflammatory bowel disease (except")[0] == "Routine follow-up of inflammatory bowel disease"


def test_l34426_should_not_be_used_in_patients_with_is_a_denial(rules_nlp):
    text = "Indications:\nThe dye should not be used in patients with severe renal insufficiency.\n"
    assert _coverage(text, rules_nlp) == {"severe renal insufficiency": "not_covered"}


def test_l37535_a_list_entry_headed_by_no_condition_takes_the_denial_of_its_list_for_its_prose_condition(rules_nlp):
    text = (
        "Limitations:\n"
        "The following are not reasonable and necessary:\n"
        "- Testing may not be used for routine or other screening.\n"
    )
    assert _coverage(text, rules_nlp) == {"routine or other screening": "not_covered"}


def test_l35121_screening_is_a_purpose_the_policy_decides_on():
    assert indications.is_condition_like("screening", load_lexicon())  # ANNOTATION.md 12.1


def test_l34426_studies_performed_for_screening_denied_is_a_not_covered_purpose(rules_nlp):
    text = "Limitations:\nStudies performed for screening will be denied by Medicare as not medically necessary.\n"
    assert _coverage(text, rules_nlp) == {"screening": "not_covered"}


def test_l39543_series_after_a_trigger_reads_a_retention_as_its_last_member(rules_nlp):
    text = "SNS is covered for the treatment of urinary urge incontinence, urgency-frequency syndrome, and nonobstructive urinary retention."
    assert _coverage(text, rules_nlp) == {
        "urinary urge incontinence": "covered", "urgency-frequency syndrome": "covered", "nonobstructive urinary retention": "covered"}


def test_l34426_series_continues_past_inflammations_into_its_such_as_members(lexicon):
    text = ("It may also be appropriate in evaluating intraocular tumors, visual loss in systemic disease, "
            "acute exudative inflammations, such as toxoplasmosis and optic disc edema.")
    assert _names(indications.trigger_mentions(text, 0, lexicon)) == [
        "intraocular tumors", "visual loss", "acute exudative inflammations", "toxoplasmosis", "optic disc edema"]


def test_l34570_items_naming_hallucinations_and_agitation_are_indications(rules_nlp):
    text = ("Inpatient psychiatric admission is covered for patients with any of the following:\n"
            "- 3. Command hallucinations directing harm to self or others.\n"
            "- 4. Psychomotor agitation that interferes with the activities of daily living.\n")
    assert _coverage(text, rules_nlp) == {"Command hallucinations directing harm": "covered", "Psychomotor agitation": "covered"}


def test_l34426_population_allergic_to_a_substance_names_the_allergy(lexicon, rules_nlp):
    text = "ICG is formulated with iodine and should not be used on patients who are allergic to iodine."
    assert _names(indications.trigger_mentions(text, 0, lexicon)) == ["allergy to iodine"]
    assert _coverage(text, rules_nlp) == {"allergy to iodine": "not_covered"}


def test_state_mentions_need_a_population_before_the_adjective(lexicon):
    assert _names(indications.state_mentions("Patients hypersensitive to latex or rubber are excluded.", 0, lexicon)) == [
        "hypersensitivity to latex or rubber"]
    assert indications.state_mentions("The dye is allergic to nothing.", 0, lexicon) == []


def test_series_after_a_covered_family_continues_through_e_g_and_for_example(lexicon):
    text = "The test is covered for hereditary cancer syndromes, e.g., Lynch syndrome and familial adenomatous polyposis."
    assert _names(indications.trigger_mentions(text, 0, lexicon)) == [
        "hereditary cancer syndromes", "Lynch syndrome", "familial adenomatous polyposis"]
    text = "Coverage is limited to patients with inflammatory conditions, for example rheumatoid arthritis."
    assert _names(indications.trigger_mentions(text, 0, lexicon)) == ["inflammatory conditions", "rheumatoid arthritis"]


def test_state_adjectives_must_map_each_phrase_to_a_noun_phrase():
    from pipeline.extract.lexicon import LexiconError, _string_map

    assert _string_map({"state_adjectives": {"Allergic to": "allergy to"}}, "state_adjectives", "x") == {"allergic to": "allergy to"}
    with pytest.raises(LexiconError, match=r"'state_adjectives'\['allergic to'\]"):
        _string_map({"state_adjectives": {"allergic to": ""}}, "state_adjectives", "x")


def test_l36702_a_dash_before_an_aside_ends_the_condition_phrase(lexicon):
    text = "Magnesium may benefit patients with sickle cell anemia, beta thalassemia and hypersplenism– more recent articles dispute this."
    assert _names(indications.trigger_mentions(text, 0, lexicon))[-1] == "beta thalassemia and hypersplenism"
    text = "It is covered for patients with sickle cell anemia – the test is repeated yearly."
    assert _names(indications.trigger_mentions(text, 0, lexicon)) == ["patients with sickle cell anemia"]
    assert _names(indications.trigger_mentions("Covered for patients with non-small cell lung cancer.", 0, lexicon)) == [
        "patients with non-small cell lung cancer"]
