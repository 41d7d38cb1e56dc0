"""The document tree (pipeline.extract.tree) and the list-item roles built on it (pipeline.extract.roles),
on tiny snippets of train documents."""

from pipeline.datamodel import Document, DocumentMeta, Section
from pipeline.extract import extract
from pipeline.extract.indications import Mention
from pipeline.extract.lexicon import load_lexicon
from pipeline.extract.roles import (
    RoleModel, apply_roles, is_patient_state, item_name, item_names, load_role_model, predict_roles,
)
from pipeline.extract.structure import split_lines
from pipeline.extract.tree import build_tree, by_index, node_text
from pipeline.training.roles import label_node

# L33692 (air-fluidized beds, train): a denial lead-in over an enumerated list
L33692 = (
    "Indications:\n"
    "An air-fluidized bed will be denied as not reasonable and necessary under any of the following circumstances:\n"
    "- 1. The beneficiary has coexisting pulmonary disease (the lack of firm back support makes coughing ineffective);\n"
    "- 6. Other known contraindications exist.\n"
    "Payment is not included for the caregiver."
)
# The flattened export of L34570's admission criteria: bullets written at the level of their numbered parent
FLAT = (
    "Indications:\n"
    "Examples of inpatient admission criteria include (but are not limited to):\n"
    "- 1. Threat to others requiring 24-hour professional observation:\n"
    "- assaultive behavior threatening others within 72 hours prior to admission\n"
    "- 2. Cognitive impairment (disorientation or memory loss) due to an acute psychiatric disorder that endangers the patient.\n"
)


def _document(text: str) -> Document:
    return Document(text, (Section("indications", "Indications:", "policy", 0, len(text)),), DocumentMeta(), "x.txt", "0", "txt", "X", "1")


def _tree(text: str):
    return build_tree(text, split_lines(_document(text)))


def test_tree_items_take_the_preceding_line_as_lead_in_and_count_siblings():
    nodes = _tree(L33692)
    heading, lead, first, second, after = nodes
    assert (heading.kind, lead.kind, first.kind, after.kind) == ("heading", "paragraph", "item", "paragraph")
    assert first.lead_in == second.lead_in == lead.index
    assert first.heading == heading.index and first.siblings == 2 and first.parent is None
    assert node_text(L33692, second) == "Other known contraindications exist."


def test_tree_bullet_under_numbered_item_ending_with_colon_is_its_child():
    nodes = by_index(_tree(FLAT))
    threat, behaviour, cognitive = nodes[2], nodes[3], nodes[4]
    assert behaviour.parent == threat.index and behaviour.lead_in == threat.index and behaviour.depth == 1
    assert threat.children == 1 and cognitive.parent is None and cognitive.lead_in == 1


# L36575 (knee arthroplasty, train): a bullet that introduces a list, its entries written at its own level
FLAT_PLAIN = (
    "Indications:\n"
    "Advanced joint disease demonstrated by:\n"
    "- Pain or functional disability from injury due to trauma or arthritis of the joint; and\n"
    "- If appropriate, history of unsuccessful conservative therapy. Non-surgical treatment typically includes one or more of the following:\n"
    "- anti-inflammatory medications or analgesics, or\n"
    "- assistive device use, or\n"
    "- therapeutic injections into the knee as appropriate.\n"
    "- Failure of a previous unicompartmental knee replacement.\n"
    "In some circumstances the surgery may be done sooner.\n"
)


def test_tree_bullets_after_a_plain_bullet_ending_with_colon_are_its_children_up_to_one_without_a_joiner():
    nodes = by_index(_tree(FLAT_PLAIN))
    pain, therapy, drugs, device, injections, failure = (nodes[i] for i in range(2, 8))
    assert pain.parent is None and therapy.parent is None and pain.lead_in == therapy.lead_in == 1
    assert drugs.parent == device.parent == injections.parent == therapy.index and drugs.lead_in == therapy.index
    assert drugs.depth == 1 and therapy.children == 3 and device.siblings == 3
    assert failure.parent is None and failure.depth == 0 and failure.lead_in == 1  # "as appropriate." ends the sub-list


# L37254 (chiropractic, train): a contraindication list written as plain lines ending in ";"
UNBULLETED = (
    "Contraindications\n"
    "The following are relative contraindications to Dynamic thrust:\n"
    "Severe demineralization of bone;\n"
    "Bleeding disorders and anticoagulant therapy; and\n"
    "Radiculopathy with progressive neurological signs.\n"
    "Limitations apply to all services.\n"
)


def test_tree_plain_lines_of_a_list_without_bullets_are_items_under_its_lead_in():
    nodes = _tree(UNBULLETED)
    _heading, lead, *entries, after = nodes
    assert [n.kind for n in entries] == ["item", "item", "item"]
    assert all(n.lead_in == lead.index and n.depth == 0 and n.parent is None and n.siblings == 3 for n in entries)
    assert after.kind == "paragraph" and after.lead_in == lead.index


def test_item_name_cuts_criteria_clause_and_keeps_defining_parentheses_as_aliases():
    lexicon = load_lexicon()
    name, aliases = item_name("Cognitive impairment (disorientation or memory loss) due to an acute psychiatric disorder that endangers the patient.", lexicon)
    assert name == "Cognitive impairment due to an acute psychiatric disorder"
    assert "disorientation or memory loss" in aliases
    assert item_name("to rule out stenosis before non-coronary cardiac surgery", lexicon)[0] == "stenosis before non-coronary cardiac surgery"


def test_label_node_derives_roles_from_gold_names_and_coverage():
    lexicon = load_lexicon()
    nodes = _tree(L33692)
    index = by_index(nodes)
    gold = {"indications": [{"name": "Coexisting pulmonary disease", "coverage": "not_covered", "criteria": []}]}
    assert label_node(nodes[2], index, L33692, gold, lexicon) == "exclusion"
    assert label_node(nodes[3], index, L33692, gold, lexicon) == "limitation"  # "denied ... any of the following": no criteria list
    covered = {"indications": [{"name": "Threat to others requiring 24-hour professional observation", "coverage": "covered",
                                "criteria": ["assaultive behavior threatening others within 72 hours"]}],
               "optional_indications": [{"name": "Cognitive impairment due to an acute psychiatric disorder"}]}
    flat = _tree(FLAT)
    assert label_node(flat[2], by_index(flat), FLAT, covered, lexicon) == "indication"
    assert label_node(flat[3], by_index(flat), FLAT, covered, lexicon) == "criterion"
    assert label_node(flat[4], by_index(flat), FLAT, covered, lexicon) is None


def test_apply_roles_adds_missed_conditions_with_the_role_vote_and_drops_lead_in_heads():
    lexicon = load_lexicon()
    nodes = _tree(L33692)
    lead_in_head = Mention("air-fluidized bed", 16, 33, 1, "line_head", "policy")
    mentions = apply_roles([lead_in_head], nodes, {2: "exclusion", 3: "limitation"}, L33692, lexicon)
    assert [(m.name, m.list_vote, m.scope) for m in mentions] == [("coexisting pulmonary disease", -1.0, (nodes[2].start, nodes[2].end))]


def test_apply_roles_scopes_an_item_over_its_sub_items_and_skips_lead_in_items():
    lexicon = load_lexicon()
    nodes = _tree(FLAT + "  - with a score below 20\n")
    text = FLAT + "  - with a score below 20\n"
    mentions = apply_roles([], nodes, {2: "indication", 3: "criterion", 4: "indication"}, text, lexicon)
    assert [m.name for m in mentions] == ["Cognitive impairment due to an acute psychiatric disorder"]  # "Threat ...:" leads a list
    assert mentions[0].scope == (nodes[4].start, nodes[5].end)  # the sub-item's numbers attach to it


def test_role_model_round_trips_through_json_and_reads_a_contraindication_list():
    model = load_role_model()
    assert model is not None
    again = RoleModel.from_json(model.to_json())
    nodes = _tree(L33692)
    lexicon = load_lexicon()
    assert predict_roles(again, nodes, L33692, lexicon) == predict_roles(model, nodes, L33692, lexicon)
    assert set(predict_roles(model, nodes, L33692, lexicon)) == {0, 2, 3}  # the heading and the two items


# L38777 (CT colonography, train) and L34005 (colonoscopy, train): an exclusion list whose items join conditions
EXCLUSIONS = (
    "Indications:\n"
    "The following are considered not medically reasonable and necessary:\n"
    "- Patients with known or suspected gastrointestinal obstruction, stricture, or fistula\n"
    "- Hemorrhoids;\n"
)
# L36702 (serum magnesium, train): the rules read one head for three listed conditions
JOINED = (
    "Indications:\n"
    "Other clinical situations:\n"
    "- Long Q-T syndrome, torsades de pointes and ventricular arrhythmias.\n"
)


def _names(content: str) -> list[str]:
    return [name for name, _aliases in item_names(content, load_lexicon())]


def test_l34623_item_name_drops_the_preposition_of_a_cut_clause():
    assert _names("Arteriography, during which there is a test occlusion of the carotid artery") == ["Arteriography"]
    assert _names("Distal aortic procedures, where there is risk of ischemia to spinal cord") == ["Distal aortic procedures"]


def test_l38777_item_names_drop_the_subject_and_split_with_the_shared_modifier():
    names = item_names("Patients with known or suspected gastrointestinal obstruction, stricture, or fistula", load_lexicon())
    assert [n for n, _ in names] == ["gastrointestinal obstruction", "gastrointestinal stricture", "gastrointestinal fistula"]
    assert "gastrointestinal obstruction, stricture, or fistula" in names[0][1]  # the joined form is the first part's alias


def test_l33436_item_names_split_a_condition_and_its_subtype():
    assert _names("Malignant melanoma or melanoma in situ (facial, auricular, genital and digital) when anatomical") == [
        "Malignant melanoma", "melanoma in situ"]


def test_l35755_item_names_share_an_of_tail_between_bare_words():
    assert _names("Pain or swelling of the female genital organs, which may be the result of torsion") == [
        "Pain of the female genital organs", "swelling of the female genital organs"]


def test_item_names_keep_sites_degrees_and_qualifiers_inside_one_condition():
    assert _names("Swelling of the extremity, face or neck") == ["Swelling of the extremity, face or neck"]
    assert _names("Absent or impaired sensation in the area of contact with the seating surface")[0] == (
        "Absent or impaired sensation in the area of contact with the seating surface")
    assert _names("Signs and symptoms of heart failure") == ["Signs and symptoms of heart failure"]
    assert _names("Dyspnea without cor pulmonale or evidence of hypoxemia") == ["Dyspnea without cor pulmonale or evidence of hypoxemia"]
    assert _names("Malunion of acetabular or proximal femur fracture") == ["Malunion of acetabular or proximal femur fracture"]


def test_apply_roles_makes_each_joined_part_and_a_one_word_item_a_not_covered_mention():
    nodes = _tree(EXCLUSIONS)
    mentions = apply_roles([], nodes, {2: "exclusion", 3: "exclusion"}, EXCLUSIONS, load_lexicon())
    assert [(m.name, m.list_vote) for m in mentions] == [
        ("gastrointestinal obstruction", -1.0), ("gastrointestinal stricture", -1.0), ("gastrointestinal fistula", -1.0),
        ("Hemorrhoids", -1.0)]


# L40244 (cardiac monitoring, train): "criteria" that are alternatives, each item joined to the next by "OR"
ALTERNATIVES = (
    "Indications:\n"
    "Cardiac monitoring is reasonable and necessary when the following criteria are met:\n"
    "- Temporary (not implanted), AND\n"
    "- Monitoring for arrhythmic events pre/post-TAVR^20-25,55 OR\n"
    "- Evidence of systemic emboli, OR\n"
    "- Monitoring for ventricular rate control\n"
)


def _named(text: str, roles: dict[int, str]) -> list[str]:
    """The names of the mentions the tree's roles add to a snippet with no rule mention."""
    return [m.name for m in apply_roles([], _tree(text), roles, text, load_lexicon())]


def test_l40244_apply_roles_names_a_non_condition_item_of_a_list_of_or_alternatives():
    roles = {2: "criterion", 3: "indication", 4: "indication", 5: "criterion"}
    assert "Monitoring for arrhythmic events pre/post-TAVR" in _named(ALTERNATIVES, roles)
    joined_by_and = ALTERNATIVES.replace(" OR\n", " AND\n")  # all of them must hold: a criteria list, no item names an event
    assert "Monitoring for arrhythmic events pre/post-TAVR" not in _named(joined_by_and, roles)


# L33575 (varicose veins, train): a lead-in that enumerates a treatment's parts
TREATMENT_PARTS = (
    "Indications:\n"
    "The components of the conservative therapy include, but are not limited to:\n"
    "- weight reduction,\n"
    "- a daily exercise plan,\n"
    "- periodic leg elevation, and\n"
    "- venous stasis ulcer\n"
)


def test_l33575_apply_roles_names_no_treatment_part_of_a_listed_therapy_but_keeps_a_condition():
    roles = {2: "indication", 3: "indication", 4: "indication", 5: "indication"}
    assert _named(TREATMENT_PARTS, roles) == ["venous stasis ulcer"]
    covered = TREATMENT_PARTS.replace("The components of the conservative therapy include, but are not limited to:",
                                      "Sclerotherapy is covered for the following:")
    assert "weight reduction" in _named(covered, roles)


# L39529 (viscosupplementation, train): a treatment defined by its parts, one part with examples in brackets
DEFINED_THERAPY = (
    "Indications:\n"
    "Conservative therapy is defined as:\n"
    "- Nonpharmacologic therapy (such as but not limited to home exercise program, education, weight loss, physical therapy); and\n"
    "- Simple analgesics\n"
)


def test_l39529_apply_roles_names_no_example_of_a_treatment_part_under_a_defined_therapy():
    roles = {2: "indication", 3: "indication"}
    assert _named(DEFINED_THERAPY, roles) == []
    covered = DEFINED_THERAPY.replace("Conservative therapy is defined as:", "Sclerotherapy is covered for the following:")
    assert "weight loss" in " ".join(_named(covered, roles))


# L36702 (magnesium, train): the patients to test include those exposed to a drug
EXPOSURES = (
    "Indications:\n"
    "Serum magnesium testing is covered for the following:\n"
    "- Chronic diarrhea, otherwise unexplained and persistent.\n"
    "- Amphotericin treatment\n"
    "- Home exercise program\n"
)


def test_l36702_apply_roles_names_a_drug_exposure_in_a_list_of_indications_but_not_under_criteria():
    roles = {2: "indication", 3: "indication", 4: "indication"}
    named = _named(EXPOSURES, roles)
    assert "Amphotericin treatment" in named and "Home exercise program" not in named
    criteria = EXPOSURES.replace("Serum magnesium testing is covered for the following:", "Testing is covered when all of the following criteria are met:")
    assert "Amphotericin treatment" not in _named(criteria, roles)


def test_l36702_apply_roles_splits_a_rule_head_that_joins_three_conditions():
    nodes = _tree(JOINED)
    start = JOINED.index("Long")
    head = Mention("Long Q-T syndrome, torsades de pointes and ventricular arrhythmias", start, start + 66, 2, "item", "policy")
    head.list_vote, head.scope = 1.0, (start, len(JOINED) - 1)
    mentions = apply_roles([head], nodes, {2: "indication"}, JOINED, load_lexicon())
    assert [m.name for m in mentions] == ["Long Q-T syndrome", "torsades de pointes", "ventricular arrhythmias"]
    assert mentions[0] is head and "Long Q-T syndrome, torsades de pointes and ventricular arrhythmias" in head.aliases
    assert all(m.list_vote == 1.0 and m.scope == head.scope for m in mentions)


def test_l34570_item_names_read_the_clause_a_subject_item_states():
    assert _names("patients whose primary problem is a physical health problem without a concurrent major psychiatric episode;") == [
        "primary problem is a physical health problem without a concurrent major psychiatric episode"]
    assert _names("patient in whom the stress test result contradicts the clinical assessment") == [
        "stress test result contradicts the clinical assessment"]


def test_l35755_item_names_read_a_semicolon_list_and_drop_a_parenthesised_site_list():
    assert _names("Torsion of the spermatic cord; acute epididymitis or epididymoorchitis; or torsion of the testicular appendages.") == [
        "Torsion of the spermatic cord", "acute epididymitis", "epididymoorchitis", "torsion of the testicular appendages"]
    assert item_names("Stenosis of visceral vein (renal, hepatic, mesenteric, portal or splenic).", load_lexicon()) == [("Stenosis of visceral vein", [])]


# L36575 (knee arthroplasty, train): a criteria-like lead-in ("when the following ...") over contraindications
CONTRAINDICATIONS = (
    "Limitations\n"
    "A total knee replacement is not medically necessary when the following contraindications are present:\n"
    "- Active urinary tract or dental infection\n"
)


def test_l36575_a_negative_lead_in_makes_its_items_not_covered_whatever_the_role():
    nodes = _tree(CONTRAINDICATIONS)
    mentions = apply_roles([], nodes, {2: "indication"}, CONTRAINDICATIONS, load_lexicon())
    assert [(m.name, m.list_vote) for m in mentions] == [("Active urinary tract infection", -1.0), ("dental infection", -1.0)]


# L34570 (inpatient psychiatry, dev): a lead-in that denies its items by its cue, with no list phrase
DENIED_BY_CUE = (
    "Limitations:\n"
    "It is not reasonable and medically necessary to provide inpatient psychiatric hospital services to the following types of patients:\n"
    "- patients whose symptoms are the result of a medical condition that requires a medical/surgical setting;\n"
)


def test_l34570_a_lead_in_denying_by_its_cues_makes_its_items_not_covered_whatever_the_role():
    nodes = _tree(DENIED_BY_CUE)
    lead = nodes[1]
    cues = lambda start, end: -2.0 if start <= lead.start < end else 0.0  # noqa: E731 ("is not reasonable")
    mentions = apply_roles([], nodes, {2: "indication"}, DENIED_BY_CUE, load_lexicon(), cues)
    assert [m.list_vote for m in mentions] == [-1.0]
    assert [m.list_vote for m in apply_roles([], nodes, {2: "indication"}, DENIED_BY_CUE, load_lexicon())] == [1.0]


def test_a_lead_in_with_exceptions_does_not_deny_its_items():
    text = "Limitations:\nAbortions are not covered except:\n- Pregnancy resulting from rape;\n"
    nodes = _tree(text)
    mentions = apply_roles([], nodes, {2: "indication"}, text, load_lexicon(), lambda start, end: -2.0)
    assert [m.list_vote for m in mentions] == [1.0]


def test_l39391_l39080_a_bare_modifier_shares_the_rest_of_the_phrase():
    assert _names("Pregnant and lactating women") == ["Pregnant women", "lactating women"]
    assert _names("second or third degree atrioventricular block") == [
        "second degree atrioventricular block", "third degree atrioventricular block"]
    assert _names("Nausea and vomiting") == ["Nausea and vomiting"]  # no phrase to share


# L37779 (radiation oncology, train): a sub-heading that joins two cancers
HEADING = "Indications:\nColon and Rectal Cancer\nRadiation therapy is covered for the following.\n"


def test_l37779_a_joined_heading_head_is_split_and_keeps_the_joined_form_once():
    nodes = _tree(HEADING)
    start = HEADING.index("Colon")
    head = Mention("Colon and Rectal Cancer", start, start + 23, 1, "heading", "policy")
    mentions = apply_roles([head], nodes, {1: "indication"}, HEADING, load_lexicon())
    assert [(m.name, m.kind) for m in mentions] == [("Colon Cancer", "heading"), ("Rectal Cancer", "heading")]
    assert mentions[0] is head and "Colon and Rectal Cancer" in head.aliases and mentions[1].aliases == []


def test_l39913_item_names_drop_a_leading_purpose_or_existential_and_a_footnote_marker():
    assert _names("When there is a contraindication to CCTA*") == ["contraindication to CCTA"]
    assert _names("For disease surveillance") == ["disease surveillance"]


def test_l39391_apply_roles_keeps_both_parts_that_share_a_head_word():
    text = "Indications:\nTesting is indicated for individuals with the following conditions:\n- Pregnant and lactating women\n"
    mentions = apply_roles([], _tree(text), {2: "indication"}, text, load_lexicon())
    assert [(m.name, m.list_vote) for m in mentions] == [("Pregnant women", 1.0), ("lactating women", 1.0)]


def test_item_naming_a_scoring_instrument_names_no_condition():
    assert item_names("Hip Disability and Osteoarthritis Outcome Score (HOOS)", load_lexicon()) == []
    assert item_names("Kellgren-Lawrence Grading Scale", load_lexicon()) == []
    assert [n for n, _ in item_names("Failure of outpatient psychiatric treatment", load_lexicon())] == ["Failure of outpatient psychiatric treatment"]


def test_l34648_a_background_list_whose_lead_in_decides_nothing_gives_its_items_no_vote():
    text = ("Background:\nBisphosphonates have been studied in the following:\n- Hypogonadism\n- Vitamin D deficiency\n"
            "The following conditions are covered:\n- Hypocalcemia\n")
    assert [(m.name, m.list_vote) for m in _background_roles(text)] == [("Hypogonadism", 0.0), ("Vitamin D deficiency", 0.0), ("Hypocalcemia", 1.0)]


def _background_roles(text: str) -> list[Mention]:
    document = Document(text, (Section("background", "Background:", "evidence", 0, len(text)),), DocumentMeta(), "x.txt", "0", "txt", "X", "1")
    nodes = build_tree(text, split_lines(document))
    return apply_roles([], nodes, {2: "indication", 3: "indication", 5: "indication"}, text, load_lexicon())


def test_l34648_items_of_a_background_list_of_causes_are_no_indications():
    # guideline section 1: risk-factor lists and background are no indications; the lead-in says what the items are
    text = ("Background:\nOther secondary causes of osteoporosis include the following:\n- Hypogonadism\n- Vitamin D deficiency\n"
            "The following conditions are covered:\n- Hypocalcemia\n")
    assert _background_indications(text) == ["Hypocalcemia"]
    risk = "Background:\nThe major risk factors are:\n- Advanced age\n- Rheumatoid arthritis\nThe following conditions are covered:\n- Hypocalcemia\n"
    assert _background_indications(risk) == ["Hypocalcemia"]


def _background_indications(text: str) -> list[str]:
    document = Document(text, (Section("background", "Background:", "evidence", 0, len(text)),), DocumentMeta(), "x.txt", "0", "txt", "X", "1")
    return [i.name for i in extract(document).indications]


def test_l33612_a_symptom_noun_joined_to_a_modified_state_is_a_condition_of_its_own():
    # "Unconsciousness or obtunded state": -ness nouns name a condition, they do not modify "state"
    assert [name for name, _ in item_names("Unconsciousness or obtunded state", load_lexicon())] == ["Unconsciousness", "obtunded state"]


def test_l38213_a_bare_modifier_joined_by_and_or_shares_the_rest_of_the_phrase():
    names = [name for name, _ in item_names("Stable and/or unstable burst fractures", load_lexicon())]
    assert names == ["Stable burst fractures", "unstable burst fractures"]


def test_l39080_item_names_drop_a_service_subject_before_its_population_and_the_states_prepositions():
    assert _names("CRT in patients with non-ambulatory NYHA IV HF symptoms or on chronic inotropic HF therapy or with LV assist devices in place") == [
        "non-ambulatory NYHA IV HF symptoms", "chronic inotropic HF therapy", "LV assist devices in place"]
    assert _names("Patients with swallowing disorders") == ["swallowing disorders"]
    assert _names("Known allergy to device materials in patients with implants") == ["allergy to device materials in patients with implants"]  # four words: no service subject


def test_l34570_item_names_read_the_need_a_who_require_subject_item_states():
    assert _names("patients who require primarily social, custodial, recreational, or respite care;")[0].startswith("primarily social")


# L40050 (allergen immunotherapy, train): an absence listed as not reasonable and necessary
ABSENCE = (
    "Limitations\n"
    "The following are considered not reasonable and necessary:\n"
    "- Absence of clinically relevant IgE\n"
)


def test_l40050_an_absence_is_a_name_in_an_exclusion_list_only():
    nodes = _tree(ABSENCE)
    mentions = apply_roles([], nodes, {2: "exclusion"}, ABSENCE, load_lexicon())
    assert [(m.name, m.list_vote) for m in mentions] == [("Absence of clinically relevant IgE", -1.0)]
    assert _names("Absence of clinically relevant IgE") == []  # elsewhere it is a criterion (12.21)


# L37254 (chiropractic services, train): a contraindication item joins a condition and a therapy the patient is on
THERAPY_STATE = (
    "Indications:\n"
    "The following are contraindications to manipulation:\n"
    "- Bleeding disorders and anticoagulant therapy; and\n"
    "- Failure of conservative therapy and physical therapy\n"
)


def test_l37254_apply_roles_makes_a_therapy_joined_to_a_condition_a_mention_of_its_own():
    mentions = apply_roles([], _tree(THERAPY_STATE), {2: "exclusion"}, THERAPY_STATE, load_lexicon())
    assert [(m.name, m.list_vote) for m in mentions] == [("Bleeding disorders", -1.0), ("anticoagulant therapy", -1.0)]


def test_is_patient_state_reads_a_short_therapy_phrase_not_a_criterion_about_one():
    lexicon = load_lexicon()
    assert is_patient_state("anticoagulant therapy", lexicon)
    assert is_patient_state("chronic inotropic HF therapy", lexicon)
    assert not is_patient_state("failure of physical therapy", lexicon)  # a preposition: a criterion about the therapy
    assert not is_patient_state("therapy", lexicon)



# L36575 / L35755 (train) shapes: a criteria list of tried treatments, and the bodies that accredit a facility
TREATMENTS = (
    "Indications:\n"
    "Coverage requires all of the following criteria:\n"
    "- Supervised physical therapy\n"
    "- Home exercise program\n"
    "- Moderate knee osteoarthritis\n"
    "Studies are performed in a facility accredited by one of the following:\n"
    "- American College of Radiology\n"
    "Echocardiography is indicated in patients with:\n"
    "- Prior placement of prosthetic valves\n"
)


def test_the_role_model_cannot_make_a_treatment_program_or_accrediting_body_an_indication():
    nodes = _tree(TREATMENTS)
    roles = {n.index: "indication" for n in nodes if n.is_item}
    names = [m.name for m in apply_roles([], nodes, roles, TREATMENTS, load_lexicon())]
    assert names == ["Moderate knee osteoarthritis", "Prior placement of prosthetic valves"]


# L40050 (train): a denying lead-in over items worded as clauses
DENIED = (
    "Indications:\n"
    "The following are considered not reasonable and necessary:\n"
    "- The beneficiary has coexisting pulmonary disease\n"
    "- Active infection of the knee joint\n"
)


def test_l40050_every_leaf_item_of_a_denying_list_is_an_exclusion_whatever_the_role_model_says():
    nodes = _tree(DENIED)
    mentions = apply_roles([], nodes, {2: "criterion", 3: "other"}, DENIED, load_lexicon())
    assert [(m.name, m.list_vote) for m in mentions] == [("coexisting pulmonary disease", -1.0), ("Active infection of the knee joint", -1.0)]


# Hyperbaric oxygen and IVIG shapes (genre, no one document): a covering list the role model reads item by item
COVERING = (
    "Indications:\n"
    "Hyperbaric oxygen therapy is covered for the following conditions:\n"
    "- Acute carbon monoxide intoxication\n"
    "- Decompression illness\n"
    "- Gas gangrene\n"
    "- Air or gas embolism\n"
)
MEMBERS = (
    "Indications:\n"
    "IVIG is covered for autoimmune blistering diseases, including:\n"
    "- Pemphigus vulgaris\n"
    "- Pemphigus foliaceus\n"
    "- Bullous pemphigoid\n"
)
ALL_CRITERIA = COVERING.replace("for the following conditions:", "when all of the following criteria are met:")
COVERED = lambda start, end: 1.0  # noqa: E731 ("is covered")


def test_an_item_of_a_covering_list_of_conditions_takes_the_role_most_of_its_siblings_have():
    nodes = _tree(COVERING)
    roles = {2: "indication", 3: "indication", 4: "criterion", 5: "indication"}
    names = [m.name for m in apply_roles([], nodes, roles, COVERING, load_lexicon(), COVERED)]
    assert "Gas gangrene" in names
    assert "Gas gangrene" not in [m.name for m in apply_roles([], nodes, roles, COVERING, load_lexicon())]


def test_the_items_under_a_covering_lead_in_that_names_a_condition_and_says_including_are_its_members():
    nodes = _tree(MEMBERS)
    mentions = apply_roles([], nodes, {2: "criterion", 3: "other", 4: "criterion"}, MEMBERS, load_lexicon(), COVERED)
    assert [(m.name, m.list_vote) for m in mentions] == [
        ("Pemphigus vulgaris", 1.0), ("Pemphigus foliaceus", 1.0), ("Bullous pemphigoid", 1.0)]


def test_a_list_of_criteria_that_must_all_hold_keeps_the_role_model_reading_of_each_item():
    nodes = _tree(ALL_CRITERIA)
    roles = {2: "indication", 3: "indication", 4: "criterion", 5: "indication"}
    names = [m.name for m in apply_roles([], nodes, roles, ALL_CRITERIA, load_lexicon(), COVERED)]
    assert "Gas gangrene" not in names


def test_dme_item_names_drop_the_subject_and_its_perfect_or_passive_verb():
    assert _names("Patient has had a fracture of the hip.") == ["fracture of the hip"]
    assert _names("The beneficiary has been diagnosed with multiple sclerosis.") == ["multiple sclerosis"]
    assert _names("The beneficiary has any significant postural asymmetries.") == ["significant postural asymmetries"]


def test_l33692_a_range_of_grades_in_an_item_names_one_condition_but_distinct_types_two():
    assert _names("The beneficiary has a stage 3 or stage 4 pressure ulcer.") == ["stage 3 or stage 4 pressure ulcer"]
    assert _names("Stage II or III multiple myeloma") == ["Stage II or III multiple myeloma"]
    assert _names("Type 1 or type 2 diabetes") == ["Type 1 diabetes", "type 2 diabetes"]


def test_l40050_an_upper_case_or_opening_a_participle_clause_ends_the_name():
    assert _names("Symptoms upon natural exposure to the allergen OR inferred when the patient has known exposure") == [
        "Symptoms upon natural exposure to the allergen"]
    assert _names("Asthma OR chronic bronchitis") == ["Asthma", "chronic bronchitis"]


def test_l34648_a_table_row_is_named_by_its_first_cell():
    assert _names("GIOP and Transplant | X | | X") == ["GIOP and Transplant"]
