"""The generic silver pieces (spark_jobs.common.silver) on a made-up payload, with real Spark.

Every typing case is a bronze row of one small frame, typed once per module; each test reads the row
of its case and states the expected outcome computed by hand.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import pyspark.sql.functions as F
import pytest
from pyspark.sql import types as T

from spark_jobs.common import silver
from spark_jobs.common.silver import Field, PayloadSchema, RowCheck

pytestmark = pytest.mark.spark

SCHEMA = PayloadSchema(
    fields=(
        Field("id", T.StringType()),
        Field("n", T.LongType(), minimum=0),
        Field("small", T.IntegerType(), required=False),
        Field("ratio", T.DoubleType(), minimum=0, maximum=1),
        Field("flag", T.BooleanType()),
        Field("at", T.TimestampType()),
        Field("day", T.DateType(), required=False),
        Field("note", T.StringType(), required=False),
    ),
    checks=(RowCheck("n above 100 when flagged", holds="NOT flag OR n <= 100", shows=("flag", "n")),),
)

# A quarantine layout of our own: quarantine_rows takes its columns by name.
QUARANTINE = T.StructType([
    T.StructField("dataset", T.StringType()), T.StructField("run_date", T.DateType()),
    T.StructField("record_index", T.LongType()), T.StructField("payload", T.StringType()),
    T.StructField("reason", T.StringType()), T.StructField("page", T.IntegerType()),
    T.StructField("request_url", T.StringType()),
])


VALID = {"id": " a1 ", "n": 5, "small": 7, "ratio": 0.25, "flag": True, "at": "2026-01-02T03:04:05Z",
         "day": "2026-01-02", "note": "first"}


def _without(*names: str) -> dict:
    return {k: v for k, v in VALID.items() if k not in names}


# case name -> payload (a dict is sent as JSON; a str is sent as is)
CASES: dict[str, dict | str] = {
    "valid": VALID,
    "numbers and booleans as strings": {**VALID, "n": "42", "small": " 8 ", "ratio": "0.5", "flag": "TRUE"},
    "whole numbers written as decimals": {**VALID, "n": 42.0, "small": "4.2e1"},
    "timestamp with an offset": {**VALID, "at": "2026-01-02T05:04:05.250+02:00"},
    "optional fields absent": _without("small", "day", "note"),
    "undeclared fields": {**VALID, "unexpected": {"nested": [1, 2]}},
    "text in brackets": {**VALID, "note": "[LIVE] Q&A [part 2]"},
    "array payload": "[1, 2]",
    "string payload": '"hello"',
    "truncated payload": '{"id": "a1", "n": ',
    "empty payload": "",
    "missing id": _without("id"),
    "null n": {**VALID, "n": None},
    "blank id": {**VALID, "id": " \t "},
    "word for an integer": {**VALID, "n": "n/a"},
    "empty string for an integer": {**VALID, "n": ""},
    "fraction for an integer": {**VALID, "n": 12.5},
    "object for an integer": {**VALID, "n": {"value": 1}},
    "boolean for an integer": {**VALID, "n": True},
    "integer too large for its type": {**VALID, "small": 3_000_000_000},
    "NaN for a number": {**VALID, "ratio": "NaN"},
    "word for a boolean": {**VALID, "flag": "yes"},
    "cut timestamp": {**VALID, "at": "2025-05-22T07:50:..."},
    "number for a timestamp": {**VALID, "at": 1716364212},
    "date in another format": {**VALID, "day": "02/01/2026"},
    "object for a string": {**VALID, "note": {"a": 1}},
    "negative count": {**VALID, "n": -3},
    "ratio above its range": {**VALID, "ratio": 1.5},
    "rule across fields": {**VALID, "n": 500},
    "several reasons": {**VALID, "n": "n/a", "ratio": 2.0, "flag": None},
}
NAMES = list(CASES)


def bronze_frame(spark, payloads: list, run_date: date = date(2026, 1, 3)):
    """Bronze rows as the lake holds them: payload text, record_index in order, one page."""
    rows = [
        (p if isinstance(p, str) else json.dumps(p), i, 1, "http://api/x?page=1", datetime(2026, 1, 3, 6),
         "test", "things", run_date)
        for i, p in enumerate(payloads)
    ]
    return spark.createDataFrame(rows, silver.BRONZE_SCHEMA)


@pytest.fixture(scope="module")
def typed_frame(spark):
    return silver.type_payloads(bronze_frame(spark, list(CASES.values())), SCHEMA).cache()


@pytest.fixture(scope="module")
def typed(typed_frame) -> dict[str, dict]:
    """Each case's typed row, timestamps as UTC text (the session time zone is UTC)."""
    rows = typed_frame.withColumn("at", F.date_format("at", "yyyy-MM-dd HH:mm:ss.SSS")).collect()
    return {NAMES[r["record_index"]]: r.asDict() for r in rows}


def typed_values(row: dict) -> dict:
    return {f.name: row[f.name] for f in SCHEMA.fields}


def test_typing_keeps_one_row_per_bronze_row_with_the_bronze_columns(typed_frame, typed):
    assert len(typed) == len(CASES)
    assert typed_frame.columns == [*silver.BRONZE_SCHEMA.fieldNames(), *[f.name for f in SCHEMA.fields],
                                   "reason", "reason_kinds"]
    assert [typed_frame.schema[f.name].dataType for f in SCHEMA.fields] == [f.dtype for f in SCHEMA.fields]
    assert typed["valid"]["payload"] == json.dumps(VALID) and typed["valid"]["run_date"] == date(2026, 1, 3)


def test_a_valid_payload_is_typed_and_trimmed(typed):
    row = typed["valid"]
    assert typed_values(row) == {"id": "a1", "n": 5, "small": 7, "ratio": 0.25, "flag": True,
                                 "at": "2026-01-02 03:04:05.000", "day": date(2026, 1, 2), "note": "first"}
    assert row["reason"] is None and row["reason_kinds"] is None


def test_json_strings_that_read_as_the_type_are_accepted(typed):
    row = typed["numbers and booleans as strings"]
    assert (row["n"], row["small"], row["ratio"], row["flag"], row["reason"]) == (42, 8, 0.5, True, None)


def test_whole_numbers_written_as_decimals_are_integers(typed):
    row = typed["whole numbers written as decimals"]
    assert (row["n"], row["small"], row["reason"]) == (42, 42, None)


def test_timestamps_are_converted_to_utc(typed):
    assert typed["timestamp with an offset"]["at"] == "2026-01-02 03:04:05.250"
    assert typed["timestamp with an offset"]["reason"] is None


def test_optional_fields_may_be_absent_and_undeclared_fields_are_ignored(typed):
    absent = typed["optional fields absent"]
    assert (absent["small"], absent["day"], absent["note"], absent["reason"]) == (None, None, None, None)
    assert typed_values(typed["undeclared fields"]) == typed_values(typed["valid"])
    assert typed["undeclared fields"]["reason"] is None


def test_text_that_merely_looks_like_json_is_still_a_string(typed):
    assert typed["text in brackets"]["note"] == "[LIVE] Q&A [part 2]"
    assert typed["text in brackets"]["reason"] is None


@pytest.mark.parametrize(
    "case, reason",
    [
        ("array payload", "payload is not a JSON object"),
        ("string payload", "payload is not a JSON object"),
        ("truncated payload", "payload is not a JSON object"),
        ("empty payload", "payload is not a JSON object"),
        ("missing id", "missing required field: id"),
        ("null n", "missing required field: n"),
        ("blank id", "missing required field: id"),
        ("word for an integer", "n is not an integer: 'n/a'"),
        ("empty string for an integer", "n is not an integer: ''"),
        ("fraction for an integer", "n is not an integer: '12.5'"),
        ("object for an integer", """n is not an integer: '{"value":1}'"""),
        ("boolean for an integer", "n is not an integer: 'true'"),
        ("integer too large for its type", "small is not an integer: '3000000000'"),
        ("NaN for a number", "ratio is not a number: 'NaN'"),
        ("word for a boolean", "flag is not a boolean: 'yes'"),
        ("cut timestamp", "at is not a timestamp: '2025-05-22T07:50:...'"),
        ("number for a timestamp", "at is not a timestamp: '1716364212'"),
        ("date in another format", "day is not a date (YYYY-MM-DD): '02/01/2026'"),
        ("object for a string", """note is not a string: '{"a":1}'"""),
        ("negative count", "n below 0: -3"),
        ("ratio above its range", "ratio out of range [0, 1]: 1.5"),
        ("rule across fields", "n above 100 when flagged (flag=true, n=500)"),
        ("several reasons",
         "n is not an integer: 'n/a'; ratio out of range [0, 1]: 2.0; missing required field: flag"),
    ],
)
def test_a_broken_payload_is_quarantined_with_its_reason(typed, case, reason):
    assert typed[case]["reason"] == reason


def test_reason_kinds_are_the_reasons_without_their_values(typed):
    assert typed["several reasons"]["reason_kinds"] == [
        "n is not an integer", "ratio out of range [0, 1]", "missing required field: flag"]
    assert typed["truncated payload"]["reason_kinds"] == ["payload is not a JSON object"]
    kinds = {k for row in typed.values() for k in row["reason_kinds"] or []}
    assert kinds <= set(SCHEMA.reason_kinds)


def test_a_payload_that_is_not_an_object_has_no_typed_values(typed):
    assert set(typed_values(typed["array payload"]).values()) == {None}


def test_valid_and_quarantined_rows_split_every_bronze_row(typed_frame):
    valid = silver.valid_rows(typed_frame)
    quarantined = silver.quarantine_rows(typed_frame, "things", QUARANTINE)
    assert valid.columns == [*silver.BRONZE_SCHEMA.fieldNames(), *[f.name for f in SCHEMA.fields]]
    assert [(f.name, f.dataType) for f in quarantined.schema] == [(f.name, f.dataType) for f in QUARANTINE]
    valid_cases = {NAMES[r["record_index"]] for r in valid.select("record_index").collect()}
    rejected = {NAMES[r["record_index"]]: r for r in quarantined.collect()}
    assert valid_cases == {"valid", "numbers and booleans as strings", "whole numbers written as decimals",
                           "timestamp with an offset", "optional fields absent", "undeclared fields",
                           "text in brackets"}
    assert valid_cases.isdisjoint(rejected) and len(valid_cases) + len(rejected) == len(CASES)
    row = rejected["word for an integer"]
    assert (row["dataset"], row["page"], row["request_url"], row["reason"]) == (
        "things", 1, "http://api/x?page=1", "n is not an integer: 'n/a'")
    assert json.loads(row["payload"])["n"] == "n/a"


def test_counts_add_up(typed_frame):
    counts = typed_frame.agg(*silver.count_aggregates()).first().asDict()
    reasons = {r["kind"]: r["rows"] for r in silver.reason_counts(typed_frame).collect()}
    summary = silver.silver_counts(counts, reasons, silver_rows=5)
    assert summary["bronze_rows"] == len(CASES) == summary["valid_rows"] + summary["quarantined_rows"]
    assert (summary["valid_rows"], summary["quarantined_rows"]) == (7, 23)
    assert summary["valid_rows"] == summary["silver_rows"] + summary["duplicates_dropped"] == 5 + 2
    assert summary["reasons"]["payload is not a JSON object"] == 4
    assert summary["reasons"]["n is not an integer"] == 6  # word, empty, fraction, object, boolean, several
    assert summary["reasons"]["missing required field: flag"] == 1
    assert sum(summary["reasons"].values()) == 25  # 22 rows with one reason, "several reasons" with three


def _versions(spark, rows):
    schema = "key string, updated_at timestamp, run_date date, record_index long, value string"
    return spark.createDataFrame(rows, schema)


def test_the_latest_version_wins_by_updated_at_then_run_date_then_record_index(spark):
    t1, t2 = datetime(2026, 1, 1, 8), datetime(2026, 1, 1, 9)
    d1, d2 = date(2026, 1, 1), date(2026, 1, 2)
    rows = [
        ("by updated_at", t2, d1, 0, "newer version ingested earlier"),
        ("by updated_at", t1, d2, 5, "older version ingested later"),
        ("by run_date", t1, d1, 9, "earlier run"),
        ("by run_date", t1, d2, 1, "later run"),
        ("by record_index", t1, d2, 3, "earlier in the run"),
        ("by record_index", t1, d2, 4, "later in the run"),
        ("versioned beats unversioned", None, d2, 7, "no updated_at"),
        ("versioned beats unversioned", t1, d1, 0, "has updated_at"),
        ("exact duplicates", t1, d1, 2, "same"),
        ("exact duplicates", t1, d1, 2, "same"),
    ]
    kept = silver.latest_versions(_versions(spark, rows), ["key"], ["updated_at", "run_date", "record_index"])
    assert sorted((r["key"], r["value"]) for r in kept.collect()) == [
        ("by record_index", "later in the run"),
        ("by run_date", "later run"),
        ("by updated_at", "newer version ingested earlier"),
        ("exact duplicates", "same"),
        ("versioned beats unversioned", "has updated_at"),
    ]
    assert kept.columns == ["key", "updated_at", "run_date", "record_index", "value"]


def test_latest_versions_with_a_composite_key_and_no_updated_at(spark):
    rows = [("a", None, date(2026, 1, 1), 0, "x1"), ("a", None, date(2026, 1, 2), 0, "x2"),
            ("b", None, date(2026, 1, 1), 0, "y1")]
    frame = _versions(spark, rows).withColumn("part", F.lit("p"))
    kept = silver.latest_versions(frame, ["key", "part"], ["run_date", "record_index"])
    assert sorted((r["key"], r["value"]) for r in kept.collect()) == [("a", "x2"), ("b", "y1")]


def test_conform_gives_exactly_the_schemas_columns_in_order(spark):
    frame = spark.createDataFrame([(1, "b", "extra")], "a int, b string, c string")
    schema = T.StructType([T.StructField("b", T.StringType()), T.StructField("a", T.LongType())])
    conformed = silver.conform(frame, schema)
    assert [(f.name, f.dataType) for f in conformed.schema] == [("b", T.StringType()), ("a", T.LongType())]
    assert conformed.collect()[0].asDict() == {"b": "b", "a": 1}


def test_names_are_trimmed_collapsed_and_spelled_canonically(spark):
    frame = spark.createDataFrame([("\u00a0 you  tube\t",), ("YOUTUBE",), ("tiktok",), ("Bluesky ",)], "v string")
    value = silver.trimmed(F.col("v"))
    out = frame.select(
        silver.collapse_whitespace(value).alias("collapsed"),
        silver.canonical_spelling(value, ["YouTube", "TikTok"]).alias("canonical"),
    ).collect()
    assert [r["collapsed"] for r in out] == ["you tube", "YOUTUBE", "tiktok", "Bluesky"]
    assert [r["canonical"] for r in out] == ["you  tube", "YouTube", "TikTok", "Bluesky"]


def test_the_bronze_schema_matches_the_ingest_writer():
    from pulse.lake import BRONZE_SCHEMA

    assert silver.BRONZE_SCHEMA.fieldNames() == [*BRONZE_SCHEMA.names, "run_date"]


def test_reading_every_bronze_partition_with_its_run_date(spark, tmp_path):
    from pulse.lake import BronzePartitionWriter

    for day, ids in [(date(2026, 1, 1), ["a", "b"]), (date(2026, 1, 2), ["a"])]:
        writer = BronzePartitionWriter(tmp_path, "test", "things", day)
        writer.add_page(1, "http://api/things?page=1", [{"id": i} for i in ids])
        writer.commit({})
    rows = silver.read_bronze(spark, str(tmp_path / "bronze" / "test" / "things")).collect()
    assert sorted((r["run_date"], r["record_index"], json.loads(r["payload"])["id"]) for r in rows) == [
        (date(2026, 1, 1), 0, "a"), (date(2026, 1, 1), 1, "b"), (date(2026, 1, 2), 0, "a")]


def test_a_missing_endpoint_is_a_clear_error(spark, tmp_path):
    missing = str(tmp_path / "bronze" / "test" / "nothing")
    with pytest.raises(FileNotFoundError, match=f"no bronze data at {missing}: the ingest of this endpoint"):
        silver.read_bronze(spark, missing)


def test_a_field_of_an_unsupported_type_is_refused():
    with pytest.raises(ValueError, match="cannot read a payload value as"):
        Field("tags", T.ArrayType(T.StringType()))


def test_output_files_grow_with_the_rows():
    assert [silver.output_files(n, 1000) for n in (0, 1, 1000, 1001, 5500)] == [1, 1, 1, 2, 6]
