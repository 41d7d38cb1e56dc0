"""The analyst views (warehouse/views/*.sql): described in schema.yml, invariants hold on the shipped corpus."""

from __future__ import annotations

import re

import duckdb
import pytest
import yaml

from pipeline.warehouse import apply_schema, connect
from pipeline.warehouse.db import VIEWS_DIR, apply_views, view_files, view_names

SCHEMA_YML = VIEWS_DIR / "schema.yml"
VIEWS = ("current_policy", "policy_timeline", "change_log", "threshold_comparison", "coverage_by_indication")


def _models() -> list[dict]:
    return yaml.safe_load(SCHEMA_YML.read_text(encoding="utf-8"))["models"]


def _test_name_and_args(test: str | dict) -> tuple[str, dict]:
    """A dbt test entry: 'unique' or {'accepted_values': {'values': [...]}}."""
    if isinstance(test, str):
        return test, {}
    ((name, args),) = test.items()
    return name, args or {}


def _declared_tests() -> list[tuple[str, str | None, str, dict]]:
    """(model, column or None for a model-level test, test name, arguments) of every declared test."""
    found = []
    for model in _models():
        for test in model.get("tests", []):
            found.append((model["name"], None, *_test_name_and_args(test)))
        for column in model["columns"]:
            for test in column.get("tests", []):
                found.append((model["name"], column["name"], *_test_name_and_args(test)))
    return found


DECLARED = _declared_tests()


@pytest.fixture(scope="module")
def warehouse(corpus_warehouse):
    """The whole shipped corpus, loaded and diffed (the session's read-only corpus warehouse)."""
    return corpus_warehouse


def _columns(con: duckdb.DuckDBPyConnection, view: str) -> list[str]:
    return [row[0] for row in con.execute(f"describe select * from {view}").fetchall()]


def test_connect_creates_every_view_file_in_name_order(warehouse):
    assert view_names() == list(VIEWS)
    assert [p.name[:2] for p in view_files()] == sorted(p.name[:2] for p in view_files())
    present = {row[0] for row in warehouse.execute("select view_name from duckdb_views() where not internal").fetchall()}
    assert set(VIEWS) <= present


def test_each_view_file_defines_exactly_one_view_named_like_the_file():
    for path in view_files():
        sql = path.read_text(encoding="utf-8")
        names = re.findall(r"^create or replace view (\w+)", sql, flags=re.MULTILINE)
        assert len(names) == 1, path.name
        assert path.stem.split("_", 1)[1] == names[0]
        assert sql.lstrip().startswith("--"), f"{path.name} starts with a comment saying what the view is"


def test_every_view_column_is_described_in_schema_yml_and_vice_versa(warehouse):
    models = {model["name"]: model for model in _models()}
    assert sorted(models) == sorted(VIEWS)
    for view in VIEWS:
        described = [column["name"] for column in models[view]["columns"]]
        assert described == _columns(warehouse, view), view
        assert models[view].get("description"), view
        for column in models[view]["columns"]:
            assert len(column.get("description", "")) >= 5, f"{view}.{column['name']} has no description"


def test_schema_yml_declares_accepted_values_for_the_contract_columns():
    declared = {(model, column) for model, column, name, _ in DECLARED if name == "accepted_values"}
    for required in (
        ("current_policy", "coverage"),
        ("current_policy", "comparator"),
        ("current_policy", "polarity"),
        ("current_policy", "section"),
        ("change_log", "change_type"),
        ("threshold_comparison", "comparator"),
        ("coverage_by_indication", "coverage"),
    ):
        assert required in declared


@pytest.mark.parametrize(
    ("model", "column", "test", "args"),
    DECLARED,
    ids=[f"{m}.{c or '*'}.{t}" for m, c, t, _ in DECLARED],
)
def test_declared_view_invariant_holds_on_the_shipped_corpus(warehouse, model, column, test, args):
    if test == "unique":
        sql = f"select {column}, count(*) from {model} where {column} is not null group by all having count(*) > 1"
        params = []
    elif test == "not_null":
        sql = f"select * from {model} where {column} is null"
        params = []
    elif test == "accepted_values":
        sql = f"select distinct cast({column} as varchar) from {model} where {column} is not null and not list_contains(?, cast({column} as varchar))"
        params = [[str(v) for v in args["values"]]]
    elif test == "unique_combination_of_columns":
        columns = ", ".join(args["combination_of_columns"])
        sql = f"select {columns}, count(*) from {model} group by all having count(*) > 1"
        params = []
    else:
        pytest.fail(f"unknown test {test!r} declared on {model}.{column}")
    assert warehouse.execute(sql, params).fetchall() == []


def test_views_answer_with_no_rows_on_an_empty_warehouse(tmp_path):
    con = connect(tmp_path / "empty.duckdb")
    try:
        for view in VIEWS:
            assert con.execute(f"select count(*) from {view}").fetchall() == [(0,)], view
    finally:
        con.close()


def test_read_only_connection_to_a_warehouse_without_views_gets_them_as_temp_views(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    apply_schema(con)  # a file built before the views existed
    con.close()
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert apply_views(con, temporary=True) == list(VIEWS)
        assert con.execute("select count(*) from change_log").fetchall() == [(0,)]
    finally:
        con.close()


def test_current_policy_shows_only_the_latest_version_of_each_lcd(warehouse):
    rows = warehouse.execute(
        "select lcd_id, count(distinct version_key), min(version) from current_policy group by lcd_id"
    ).fetchall()
    assert all(versions == 1 for _, versions, _ in rows)
    assert dict((lcd, version) for lcd, _, version in rows)["IVIG-OFFLABEL"] == "2"
    expected = warehouse.execute(
        """
        with latest as (
            select version_key from lcd_versions
            qualify version_order = max(version_order) over (partition by lcd_id)
        )
        select
            (select count(*) from indications where version_key in (select version_key from latest))
            + (select count(*) from doses where version_key in (select version_key from latest))
            + (select count(*) from thresholds where version_key in (select version_key from latest))
            + (select count(*) from criteria where version_key in (select version_key from latest))
        """
    ).fetchall()[0][0]
    assert warehouse.execute("select count(*) from current_policy").fetchall()[0][0] == expected


def test_current_policy_states_ivig_facts_as_readable_lines(warehouse):
    rows = warehouse.execute(
        """
        select fact_type, statement, coverage
        from current_policy
        where lcd_id = 'IVIG-OFFLABEL'
            and section = 'policy'
            and normalized_indication in ('chronic graft versus host disease', 'autoimmune retinopathy')
        """
    ).fetchall()
    assert ("threshold", "IgG < 400 mg/dL", "covered") in rows
    assert ("dose", "IVIG 0.4–1.5 g/kg in single or divided doses monthly (maintenance)", "covered") in rows
    assert ("indication", "Chronic Graft versus Host Disease (covered)", "covered") in rows
    # HSCT: "It is not indicated in HSCT patients younger than 20 years of age"
    assert warehouse.execute(
        "select statement from current_policy where lcd_id = 'IVIG-OFFLABEL' and measure = 'age' and polarity = 'exclusion'"
    ).fetchall() == [("age < 20 years (exclusion)",)]


def test_policy_timeline_counts_the_ivig_revision_changes_by_type(warehouse):
    rows = warehouse.execute(
        """
        select version, version_order, is_latest, previous_version, changes, indications_added, doses_added,
            policy_doses
        from policy_timeline
        where lcd_id = 'IVIG-OFFLABEL'
        order by version_order
        """
    ).fetchall()
    # Version 2 adds Systemic Capillary Leak Syndrome (with its 2 and 1 g/kg monthly doses) and IMNM.
    assert rows == [("1", 1, False, None, 0, 0, 0, 7), ("2", 2, True, "1", 4, 2, 2, 9)]


def test_policy_timeline_change_count_is_the_sum_of_its_types_and_of_policy_changes(warehouse):
    parts = (
        "indications_added + indications_removed + coverage_changed + doses_added + doses_removed + doses_changed"
        " + thresholds_added + thresholds_removed + thresholds_changed + criteria_added + criteria_removed"
    )
    assert warehouse.execute(f"select count(*) from policy_timeline where changes <> {parts}").fetchall() == [(0,)]
    assert warehouse.execute("select sum(changes) from policy_timeline").fetchall() == warehouse.execute(
        "select count(*) from policy_changes"
    ).fetchall()
    assert warehouse.execute(
        "select count(*) from (select lcd_id from policy_timeline group by lcd_id having count(*) filter (where is_latest) <> 1)"
    ).fetchall() == [(0,)]


def test_change_log_gives_versions_dates_and_sentences(warehouse):
    rows = warehouse.execute(
        """
        select from_version, to_version, fact_type, action, subject, after, change_date = cast(detected_at as date), after_sentence
        from change_log
        order by change_key
        """
    ).fetchall()
    assert [r[:6] for r in rows] == [
        ("1", "2", "indication", "added", "Immune-mediated Necrotizing Myositis", "covered"),
        ("1", "2", "indication", "added", "Systemic Capillary Leak Syndrome", "covered"),
        ("1", "2", "dose", "added", "IVIG prophylaxis dose", "1 g/kg per month"),
        ("1", "2", "dose", "added", "IVIG prophylaxis dose", "2 g/kg per month"),
    ]
    assert all(r[6] for r in rows), "IVIG-OFFLABEL has no effective date: change_date is the detection day"
    assert "1 gram per kg per month" in rows[2][7]


def test_threshold_comparison_finds_the_dme_monthly_supply_limit_that_differs(warehouse):
    # L33610 (IVIG): "must not dispense more than a one (1) month quantity", oral antiemetics (L33827) and
    # enteral nutrition (L38955) a one-month one too; the breast prostheses, suction pump, respiratory
    # assist device, TENS and immunosuppressive drug LCDs: "more than a three (3) - month quantity"
    # (L33612: "3-month", L33317: "three (3) month").
    rows = warehouse.execute(
        """
        select lcd_id, threshold_limit, lcds_with_measure, limits_differ
        from threshold_comparison
        where normalized_measure = 'supplier dispense'
        order by lcd_id
        """
    ).fetchall()
    assert rows == [
        ("L33317", "<= 3 months", 8, True),
        ("L33610", "<= 1 months", 8, True),
        ("L33612", "<= 3 months", 8, True),
        ("L33800", "<= 3 months", 8, True),
        ("L33802", "<= 3 months", 8, True),
        ("L33824", "<= 3 months", 8, True),
        ("L33827", "<= 1 months", 8, True),
        ("L38955", "<= 1 months", 8, True),
    ]
    same = warehouse.execute(
        "select distinct threshold_limit, lcds_with_measure, limits_differ from threshold_comparison where normalized_measure = 'deliver dmepos product'"
    ).fetchall()
    assert same == [("<= 10 days", 8, False)]  # all eight: "deliver the DMEPOS product no sooner than 10 calendar days prior"


def test_coverage_by_indication_aligns_the_cardiac_monitoring_pair(warehouse):
    # L40257 (Palmetto) and L40244 (CGS) state the same policy in slightly different words, so every
    # indication one names the other names too, with the same coverage.
    rows = warehouse.execute(
        """
        select normalized_indication, list(lcd_id order by lcd_id), list(distinct coverage)
        from coverage_by_indication
        where lcd_id in ('L40244', 'L40257')
        group by normalized_indication
        """
    ).fetchall()
    assert rows and all(lcds == ["L40244", "L40257"] and len(coverages) == 1 for _, lcds, coverages in rows)
    coverage = {name: coverages[0] for name, _, coverages in rows}
    # "To assess for ... in patients with hypertrophic cardiomyopathy, ... long QT syndrome, ... or Brugada syndrome"
    assert coverage["brugada syndrome"] == coverage["long qt syndrome"] == "covered"
    arrhythmia = warehouse.execute(
        "select thresholds, coverage_differs_across_lcds from coverage_by_indication where lcd_id = 'L40257' and normalized_indication like 'presence of symptoms%'"
    ).fetchall()
    # "... occurring infrequently (>24 hours between symptomatic episodes)"
    assert arrhythmia == [(["hours between symptomatic episodes > 24 hours"], False)]
