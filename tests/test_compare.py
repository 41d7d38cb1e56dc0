"""`lcd compare`: two LCDs compared as policies (pipeline.analyst.comparison), on the shipped cardiac monitoring pair."""

from __future__ import annotations

import json

import duckdb
import pytest

from pipeline.cli import main
from pipeline.analyst.comparison import PolicyCounts, compare_lcds, compare_snapshots, format_comparison
from pipeline.diff import PolicySnapshot, snapshot
from pipeline.diff.facts import IndicationFact, ThresholdFact
from pipeline.warehouse import version_key_of
from tests.conftest import RAW_DOCS

PALMETTO = "Palmetto GBA (MAC - Part A, MAC - Part B)"
CGS = "CGS Administrators, LLC (MAC - Part A, MAC - Part B)"


@pytest.fixture(scope="module")
def db(corpus_db):
    """The corpus warehouse file: the cardiac pair, both IVIG versions and the DME MAC LCDs among the rest
    (no connection held: the CLI opens it read-only)."""
    return corpus_db


@pytest.fixture()
def con(db):
    connection = duckdb.connect(str(db), read_only=True)
    yield connection
    connection.close()


def test_l40257_and_l40244_state_the_same_policy_in_different_words(con):
    # The two files differ in wording only: L40257 adds the Title XVIII §1862(a)(1)(A) sentence to its
    # national coverage policy list, writes "shared amongst 2 or more patients" where L40244 writes
    # "two or more", "the physician's office, so" where L40244 has no comma, and capitalises definitions.
    palmetto = (RAW_DOCS / "L40257" / "7.txt").read_text(encoding="utf-8")
    cgs = (RAW_DOCS / "L40244" / "4.txt").read_text(encoding="utf-8")
    assert "amongst 2 or more patients" in palmetto and "amongst two or more patients" in cgs
    assert "Title XVIII of the Social Security Act" in palmetto and "Title XVIII" not in cgs

    comparison = compare_lcds(con, "L40257", "L40244")

    assert comparison.same_policy
    assert comparison.differences == ()
    assert (comparison.a.lcd_id, comparison.a.version, comparison.a.contractor) == ("L40257", "7", PALMETTO)
    assert (comparison.b.lcd_id, comparison.b.version, comparison.b.contractor) == ("L40244", "4", CGS)
    # Both state the same facts: the covered indications of "when the following criteria are met" (its nine
    # items are the criteria), the ">24 hours between symptomatic episodes" limit, "more than 30 consecutive days".
    assert comparison.a_counts == comparison.b_counts
    assert comparison.a_counts.doses == 0 and comparison.a_counts.criteria == 9
    assert min(comparison.a_counts.indications, comparison.a_counts.thresholds) > 0


def test_an_lcd_compared_with_itself_has_no_differences(con):
    for lcd_id in ("L40257", "IVIG-OFFLABEL", "L33612"):
        comparison = compare_lcds(con, lcd_id, lcd_id)
        assert comparison.same_policy, lcd_id
        assert comparison.a_counts == comparison.b_counts


def test_compare_reads_the_ivig_revision_as_facts_only_in_b(con):
    older, newer = (snapshot(con, version_key_of(con, "IVIG-OFFLABEL", v)) for v in ("1", "2"))
    comparison = compare_snapshots(older, newer)
    assert {(d.fact_type, d.side) for d in comparison.differences} == {("indication", "only_b"), ("dose", "only_b")}
    assert sorted(d.subject for d in comparison.select("indication", "only_b")) == [
        "Immune-mediated Necrotizing Myositis",
        "Systemic Capillary Leak Syndrome",
    ]
    assert sorted(d.b_value for d in comparison.select("dose", "only_b")) == ["1 g/kg per month", "2 g/kg per month"]
    assert all(d.a_value is None and d.b_sentence for d in comparison.differences)
    reverse = compare_snapshots(newer, older)
    assert {(d.fact_type, d.side) for d in reverse.differences} == {("indication", "only_a"), ("dose", "only_a")}


def test_compare_dme_lcds_shows_the_monthly_supply_limit_that_differs(con):
    # L33612: "must not dispense more than a 3-month quantity"; L33610: "more than a one (1) month quantity".
    comparison = compare_lcds(con, "L33612", "L33610")
    differing = comparison.select("threshold", "differs")
    assert [(d.subject, d.a_value, d.b_value) for d in differing] == [
        ("supplier dispense", "supplier dispense <= 3 months", "supplier dispense <= 1 months")
    ]
    assert "3-month quantity" in differing[0].a_sentence and "one (1) month quantity" in differing[0].b_sentence
    # The suction pump indications are L33612's own; L33610's transcription names no indication in policy.
    assert {d.subject for d in comparison.select("indication", "only_a")} >= {"Tracheostomy", "Dysfunction of the swallowing muscles"}
    text = format_comparison(comparison)
    assert "Thresholds that differ:" in text
    assert "  - supplier dispense: A <= 3 months | B <= 1 months" in text


def _indication(name: str, coverage: str) -> IndicationFact:
    return IndicationFact(name, name.lower(), coverage, "policy", "coverage_indications", f"{name} is {coverage}.", 0)


def _threshold(indication: str, value: float, section: str = "policy") -> ThresholdFact:
    return ThresholdFact(indication.lower(), "IgG", "<", value, None, "mg/dL", "inclusion", section, "coverage_indications", f"IgG < {value}", None)


def test_compare_snapshots_tells_coverage_and_limits_that_differ_from_facts_on_one_side():
    a = PolicySnapshot(
        "L1", "1", None,
        indications=(_indication("Chronic GVHD", "covered"), _indication("Myositis", "covered")),
        thresholds=(_threshold("Chronic GVHD", 400), _threshold("Chronic GVHD", 900, section="evidence")),
    )
    b = PolicySnapshot(
        "L2", "3", None,
        indications=(_indication("Chronic GVHD", "covered"), _indication("Myositis", "not_covered"), _indication("Scleroderma", "covered")),
        thresholds=(_threshold("Chronic GVHD", 500),),
    )
    comparison = compare_snapshots(a, b)
    assert [(d.fact_type, d.side, d.subject, d.a_value, d.b_value) for d in comparison.differences] == [
        ("indication", "differs", "Myositis", "covered", "not_covered"),
        ("indication", "only_b", "Scleroderma", None, "covered"),
        ("threshold", "differs", "IgG", "IgG < 400 mg/dL", "IgG < 500 mg/dL"),
    ]
    assert comparison.a_counts == PolicyCounts(indications=2, doses=0, thresholds=1, criteria=0)


def test_cli_compare_prints_that_the_cardiac_pair_has_no_policy_differences(db, capsys):
    assert main(["compare", "L40257", "L40244", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"A: L40257 version 7, {PALMETTO}: Temporary Nontherapeutic Ambulatory Cardiac Monitoring Devices\n")
    assert f"B: L40244 version 4, {CGS}" in out
    assert "No policy differences" in out
    assert "criteria         9    9" in out


def test_cli_compare_json_lists_the_differences(db, capsys):
    assert main(["compare", "IVIG-OFFLABEL", "IVIG-OFFLABEL", "--a-version", "1", "--db", str(db), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["same_policy"] is False
    assert (payload["a"]["version"], payload["b"]["version"]) == ("1", "2")
    assert len(payload["differences"]) == 4


def test_cli_compare_unknown_lcd_is_a_one_line_error(db, capsys):
    assert main(["compare", "L40257", "L00000", "--db", str(db)]) == 2
    assert capsys.readouterr().err == "lcd compare: LCD 'L00000' is not in the warehouse\n"
    assert main(["compare", "L40257", "L40244", "--b-version", "99", "--db", str(db)]) == 2
    assert capsys.readouterr().err == "lcd compare: LCD L40244 has no version '99'\n"
