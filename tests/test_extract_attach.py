"""Attachment of doses and thresholds by the document's tree (pipeline/extract/attach.py, models/ANNOTATION.md
12.9): sub-items, lead-ins naming several indications, bodies of heading-like items, conjunctive criteria lists.
The indication heads are placed by hand, as the indication finder would place them, so each rule is seen alone."""

from __future__ import annotations

from pipeline.datamodel import Document, DocumentMeta, Section
from pipeline.extract.attach import Attacher
from pipeline.extract.lexicon import load_lexicon
from pipeline.extract.structure import Sentence, split_lines
from pipeline.extract.tree import build_tree, by_index
from pipeline.text import fold


def _attacher(text: str, heads: dict[str, str], sole: str | None = None) -> tuple[Attacher, dict[str, int]]:
    """An Attacher over `text` with one indication per name in `heads` (name -> kind of its head mention); a
    head's scope is its own line, so only the tree rules can reach other lines."""
    document = Document(text, (Section("indications", "Indications:", "policy", 0, len(text)),), DocumentMeta(), "x.txt", "0", "txt", "X", "1")
    lines = split_lines(document)
    scopes, ids = [], {}
    for i, (name, kind) in enumerate(heads.items()):
        start = text.index(name)
        line = next(ln for ln in lines if ln.start <= start <= ln.end)
        scopes.append((line.content_start if kind == "item" else start, line.end, i, kind))
        ids[name] = i
    lexicon = load_lexicon()
    forms = {i: (fold(name),) for name, i in ids.items()}
    attacher = Attacher(text, lines, by_index(build_tree(text, lines)), scopes, forms, lexicon.criteria_intro,
                        lexicon.alternatives_intro, lexicon.population_words, sole=ids.get(sole))
    return attacher, ids


def _attached(attacher: Attacher, text: str, fact: str) -> int | None:
    start = text.index(fact)
    line = next(ln for ln in attacher.lines if ln.start <= start <= ln.end)
    return attacher.indication(start, Sentence(line.content_start, line.end, line.index))


def test_sub_item_belongs_to_its_parent_items_indication():
    text = ("The following are covered:\n"
            "- Obstructive sleep apnea, when all of the following are met:\n"
            "  - AHI of 15 or more events per hour\n"
            "- Central sleep apnea\n")
    attacher, ids = _attacher(text, {"Obstructive sleep apnea": "item", "Central sleep apnea": "item"})
    assert _attached(attacher, text, "15 or more") == ids["Obstructive sleep apnea"]


def test_sub_item_of_an_item_naming_several_indications_is_null_unless_its_line_names_one():
    text = ("Other skin lesions:\n"
            "- Basal cell carcinoma or squamous cell carcinoma having one of the following features:\n"
            "  - Large size (2.0 cm or greater)\n"
            "  - Basal cell carcinoma in the very young (less than 40 years of age)\n")
    attacher, ids = _attacher(text, {"Basal cell carcinoma": "item", "squamous cell carcinoma": "item"})
    assert _attached(attacher, text, "2.0 cm") is None
    assert _attached(attacher, text, "less than 40") == ids["Basal cell carcinoma"]


def test_item_does_not_take_the_scope_of_a_sibling_of_its_parent():
    text = ("Other skin lesions:\n"
            "- Rare skin malignancies\n"
            "- Lesions having one or more of the following features:\n"
            "  - Large size (2.0 cm or greater)\n")
    attacher, ids = _attacher(text, {"Rare skin malignancies": "item"})
    attacher.scopes[0] = (attacher.scopes[0][0], len(text), ids["Rare skin malignancies"], "item")  # a flat-list scope
    assert _attached(attacher, text, "2.0 cm") is None


def test_items_after_an_indication_item_of_a_flat_list_keep_its_scope():
    text = ("The following off-label uses are covered:\n"
            "- Autoimmune retinopathy that is sight threatening\n"
            "- Induction Dose - 1.5 g/kg in divided dose over 3 days.\n")
    attacher, ids = _attacher(text, {"Autoimmune retinopathy": "item"})
    attacher.scopes[0] = (attacher.scopes[0][0], len(text), ids["Autoimmune retinopathy"], "item")
    assert _attached(attacher, text, "1.5 g/kg") == ids["Autoimmune retinopathy"]


def test_paragraphs_between_items_of_a_list_belong_to_the_heading_like_item_above():
    text = ("The following are covered:\n"
            "- Acute post-operative pain\n"
            "TENS is covered after surgery. Coverage is limited to 30 days from the day of surgery.\n"
            "- Chronic intractable pain\n"
            "The pain must have been present for at least three months.\n")
    attacher, ids = _attacher(text, {"Acute post-operative pain": "item", "Chronic intractable pain": "item"})
    assert _attached(attacher, text, "30 days") == ids["Acute post-operative pain"]


def test_paragraph_after_the_end_of_a_list_is_no_items_body():
    text = ("The following are covered:\n"
            "- Acute post-operative pain\n"
            "- Chronic intractable pain\n"
            "Supplies are limited to 1 unit per month.\n")
    attacher, _ids = _attacher(text, {"Acute post-operative pain": "item", "Chronic intractable pain": "item"})
    assert _attached(attacher, text, "1 unit") is None


def test_criteria_under_a_lead_in_after_a_heading_like_item_take_the_indication_its_line_names():
    text = ("The following are covered:\n"
            "- Osteoporosis and Osteopenia\n"
            "Coverage for IV therapy includes any of the following:\n"
            "  - Men 50 years of age or older with BMD values consistent with osteoporosis (T-score of -2.5 or less)\n"
            "  - Men 50 years of age or older with a T-score from -1.0 to -2.5\n"
            "- Hypercalcemia of malignancy\n")
    attacher, ids = _attacher(text, {"Osteoporosis": "item", "Osteopenia": "item", "Hypercalcemia of malignancy": "item"})
    assert _attached(attacher, text, "-2.5 or less") == ids["Osteoporosis"]
    assert _attached(attacher, text, "from -1.0") is None  # both in scope, neither written on the line


def test_item_of_a_conjunctive_patient_criteria_list_takes_the_one_indication_named_in_it():
    text = ("Uvulopalatopharyngoplasty is covered for patients who have all of the following:\n"
            "- Obstructive sleep apnea diagnosed in a sleep laboratory;\n"
            "- A Respiratory Disturbance Index of 15 or higher;\n"
            "- Documented counseling about the risks of surgery.\n")
    attacher, ids = _attacher(text, {"Obstructive sleep apnea": "trigger"})
    assert _attached(attacher, text, "15 or higher") == ids["Obstructive sleep apnea"]


def test_item_of_a_list_of_service_criteria_or_of_alternatives_takes_no_sibling_indication():
    service = ("Medicare will cover a bone mass measurement when it meets all of the following criteria:\n"
               "- It is performed for the purpose of detecting osteoporosis;\n"
               "- At least 23 months have passed since the last measurement.\n")
    attacher, _ids = _attacher(service, {"osteoporosis": "trigger"})
    assert _attached(attacher, service, "23 months") is None
    alternatives = ("Patients with any of the following:\n"
                    "- Chronic eyelid dermatitis;\n"
                    "- Margin reflex distance of 2.5 mm or less.\n")
    attacher, _ids = _attacher(alternatives, {"Chronic eyelid dermatitis": "trigger"})
    assert _attached(attacher, alternatives, "2.5 mm") is None


def test_several_indications_on_the_facts_own_item_give_the_one_written_before_it():
    text = ("The following are covered:\n"
            "- Diarrhea of unexplained origin with weight loss persisting for more than 3 weeks; or colitis\n")
    attacher, ids = _attacher(text, {"Diarrhea of unexplained origin": "item", "colitis": "item"})
    start = text.index("Diarrhea")
    attacher.scopes[0] = (start, text.index("; or colitis"), ids["Diarrhea of unexplained origin"], "item")
    attacher.scopes[1] = (text.index("colitis"), len(text) - 1, ids["colitis"], "item")
    assert _attached(attacher, text, "more than 3 weeks") == ids["Diarrhea of unexplained origin"]


def test_unnamed_item_among_named_ones_does_not_climb_to_the_umbrella_above_its_list():
    text = ("Other skin lesions:\n"
            "- Angiosarcoma of the skin.\n"
            "- Carcinomas having one or more of the following features:\n"
            "  - Large size (2.0 cm or greater)\n"
            "  - Biopsy proven lesions with aggressive pathology\n")
    attacher, ids = _attacher(text, {"skin lesions": "heading", "Angiosarcoma of the skin": "item",
                                     "Biopsy proven lesions with aggressive pathology": "item"})
    assert _attached(attacher, text, "2.0 cm") is None


def test_fact_outside_any_tree_rule_takes_the_one_indication_whose_name_its_sentence_writes():
    text = ("Bone mass measurement is covered more often for the following:\n"
            "- Glucocorticoid therapy\n"
            "Coverage is reviewed for all patients.\n"
            "Patients on glucocorticoid therapy for more than 3 months may be tested yearly.\n")
    attacher, ids = _attacher(text, {"Glucocorticoid therapy": "item"})
    assert _attached(attacher, text, "more than 3 months") == ids["Glucocorticoid therapy"]


def test_one_word_names_are_not_read_in_a_sentence_without_a_mention():
    text = ("The following are covered:\n"
            "- MIGS\n"
            "- Cataract surgery\n"
            "Coverage is reviewed for all patients.\n"
            "Cataract surgery can be performed with a single MIGS procedure.\n")
    attacher, ids = _attacher(text, {"MIGS": "item", "Cataract surgery": "item"})
    assert _attached(attacher, text, "a single MIGS") == ids["Cataract surgery"]
    attacher.forms[ids["Cataract surgery"]] = ("cataract",)
    assert _attached(attacher, text, "a single MIGS") is None


def test_fact_no_rule_decides_takes_the_documents_only_covered_indication():
    text = ("Peripheral nerve stimulation is covered for chronic intractable pain.\n"
            "Coverage of trials requires that patients have all of the following:\n"
            "- Documented severe pain for at least 3 months\n")
    attacher, ids = _attacher(text, {"chronic intractable pain": "trigger"}, sole="chronic intractable pain")
    assert _attached(attacher, text, "at least 3 months") == ids["chronic intractable pain"]
    attacher.sole = None
    assert _attached(attacher, text, "at least 3 months") is None
