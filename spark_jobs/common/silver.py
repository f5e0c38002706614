"""Silver's generic pieces, for any source whose bronze rows hold one raw JSON record each.

A source declares, per dataset, a :class:`PayloadSchema`: the payload's fields (:class:`Field`: the type
each is read as, whether it is required, its range) and the rules across fields (:class:`RowCheck`).
With it, silver is four pure steps and a count:

1. :func:`type_payloads` parses each payload once and types every declared field; a row that breaks
   the contract gets a human-readable ``reason`` ("likes is not an integer: 'n/a'"; several joined with
   "; ") and the list of its ``reason_kinds`` (the reasons without the offending values, for counting);
   both are null for a valid row.
2. :func:`valid_rows` and :func:`quarantine_rows` split the typed rows: nothing is dropped silently.
3. The source normalises the valid rows (helpers: :func:`collapse_whitespace`, :func:`canonical_spelling`).
4. :func:`latest_versions` keeps one row per natural key, the greatest version; :func:`conform` gives
   the frame exactly the silver schema's columns, in order.

:func:`count_aggregates`, :func:`reason_counts` and :func:`silver_counts` give the ``_counts.json``
entry of a dataset:
``bronze_rows = valid_rows + quarantined_rows`` and ``valid_rows = silver_rows + duplicates_dropped``.

How a payload value is read, by declared type (strings are trimmed first; a JSON string that reads as
the type is accepted, so ``"42"`` is a valid integer):

- integer (``LongType``/``IntegerType``): a whole number (``42``, ``42.0``, ``"4.2e1"``) within the
  type's range; ``12.5``, ``""``, ``"n/a"``, ``true``, an object or an array is not an integer.
- number (``DoubleType``): any finite decimal number; ``"NaN"``, ``"Infinity"``, ``""`` are not.
- boolean: ``true``/``false`` (or those words as a string, any case).
- timestamp: an ISO-8601 date-time (``2025-05-22T07:50:12Z``, with or without fraction and offset);
  a value without an offset is read in the session time zone, which the jobs set to UTC.
- date: ``YYYY-MM-DD``.
- string: any JSON scalar (a number becomes its text); blank counts as missing; an object or an
  array is not a string.

Fields a payload has beyond the declared ones are ignored.
"""

from __future__ import annotations

import logging
import math
import operator
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING

import pyspark.sql.functions as F
from pyspark.sql import Column, DataFrame, Observation, SparkSession, Window
from pyspark.sql import types as T

from spark_jobs.common.job import JobArgs, path_exists

if TYPE_CHECKING:
    from spark_jobs.common.incremental import BronzeChanges
    from spark_jobs.common.schemas import SilverDataset

log = logging.getLogger(__name__)

# The bronze contract (docs/architecture.md, pulse.lake.BRONZE_SCHEMA) as Spark reads it, with the
# partition column. Declared here because the ingest's code does not ship to Spark.
BRONZE_SCHEMA = T.StructType(
    [
        T.StructField("payload", T.StringType()),
        T.StructField("record_index", T.LongType()),
        T.StructField("page", T.IntegerType()),
        T.StructField("request_url", T.StringType()),
        T.StructField("ingested_at", T.TimestampType()),
        T.StructField("source", T.StringType()),
        T.StructField("endpoint", T.StringType()),
        T.StructField("run_date", T.DateType()),
    ]
)

# A quarantined row is one bronze row: (run_date, record_index) within its dataset.
QUARANTINE_KEY = ("run_date", "record_index")
REASON = "reason"
REASON_KINDS = "reason_kinds"
NOT_AN_OBJECT = "payload is not a JSON object"

# Characters trimmed from both ends of every string (Spark's plain trim only removes spaces).
_WHITESPACE = " \t\n\r\f\v\u00a0"
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_SHOWN_CHARS = 120
_CORRUPT = "_corrupt_record"
_MASK_BITS = 62
_TYPE_NAMES = {
    T.StringType(): "a string",
    T.LongType(): "an integer",
    T.IntegerType(): "an integer",
    T.DoubleType(): "a number",
    T.BooleanType(): "a boolean",
    T.TimestampType(): "a timestamp",
    T.DateType(): "a date (YYYY-MM-DD)",
}


def _bound(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Field:
    """One field of a payload: its JSON name, the type silver reads it as, whether a row without it is
    quarantined, and the closed range ``[minimum, maximum]`` its value must lie in (numbers only)."""

    name: str
    dtype: T.DataType
    required: bool = True
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        if self.dtype not in _TYPE_NAMES:
            raise ValueError(f"field {self.name}: silver cannot read a payload value as {self.dtype}")

    @property
    def missing_kind(self) -> str:
        return f"missing required field: {self.name}"

    @property
    def type_kind(self) -> str:
        return f"{self.name} is not {_TYPE_NAMES[self.dtype]}"

    @property
    def range_kind(self) -> str | None:
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            return f"{self.name} out of range [{_bound(low)}, {_bound(high)}]"
        if low is not None:
            return f"{self.name} below {_bound(low)}"
        if high is not None:
            return f"{self.name} above {_bound(high)}"
        return None


@dataclass(frozen=True)
class RowCheck:
    """A rule across the typed fields of one row. ``holds`` is a Spark SQL boolean expression over the
    typed columns (``"likes + comments + shares <= impressions"``); a row where it is false is
    quarantined with ``kind`` and the values of the ``shows`` columns. A row where it is null (a value
    is missing or unreadable) is left to the field checks, which already quarantine it."""

    kind: str
    holds: str
    shows: tuple[str, ...]


@dataclass(frozen=True)
class PayloadSchema:
    """What a valid payload of one dataset is: its fields, then the rules across them."""

    fields: tuple[Field, ...]
    checks: tuple[RowCheck, ...] = ()

    @property
    def reason_kinds(self) -> list[str]:
        """Every kind of reason a row of this dataset can be quarantined for, in a stable order."""
        kinds = [NOT_AN_OBJECT]
        for f in self.fields:
            kinds += [f.missing_kind] if f.required else []
            kinds.append(f.type_kind)
            kinds += [f.range_kind] if f.range_kind else []
        return kinds + [c.kind for c in self.checks]


def trimmed(column: Column) -> Column:
    """The string with surrounding whitespace (spaces, tabs, line breaks, no-break spaces) removed."""
    return F.btrim(column, F.lit(_WHITESPACE))


def collapse_whitespace(column: Column) -> Column:
    """The string with every inner run of whitespace replaced by one space (ends already trimmed)."""
    return F.regexp_replace(column, r"\s+", " ")


def canonical_spelling(column: Column, values: Sequence[str]) -> Column:
    """``column`` spelled as the one of ``values`` it matches case-insensitively, or as given when it
    matches none (an unknown value is kept, not guessed at)."""
    spellings = F.create_map(*[F.lit(x) for v in values for x in (v.lower(), v)])
    return F.coalesce(F.try_element_at(spellings, F.lower(column)), column)


def _read_as(text: Column, dtype: T.DataType) -> Column:
    """``text`` (trimmed, non-blank) read as ``dtype``; null when it cannot be."""
    if dtype == T.StringType():
        return text
    if dtype in (T.LongType(), T.IntegerType()):
        # Whole numbers written as decimals ("42.0", "4.2e1") are integers too (the fallback path,
        # only taken when the plain cast fails); try_cast gives null outside the type's range.
        number = F.when(text.rlike(_NUMBER), text.try_cast("double"))
        whole = F.when(number % 1 == 0, number.try_cast(dtype))
        return F.coalesce(text.try_cast(dtype), whole)
    if dtype == T.DoubleType():
        number = text.try_cast("double")
        return F.when(text.rlike(_NUMBER) & (F.abs(number) < math.inf), number)
    if dtype == T.BooleanType():
        word = F.lower(text)
        return F.when(word == "true", F.lit(True)).when(word == "false", F.lit(False))
    if dtype == T.TimestampType():
        return F.when((F.length(text) >= 10) & (F.substring(text, 5, 1) == "-"), text.try_cast("timestamp"))
    return F.when(F.length(text) == 10, text.try_cast("date"))  # DateType


def _is_container(text: Column) -> Column:
    """Whether a string-typed raw value is really a JSON object or array (from_json renders those as
    JSON text); the second parse only runs for the rare values that start like one."""
    looks_like = text.startswith("{") | text.startswith("[")
    return F.when(looks_like, F.try_parse_json(text).isNotNull()).otherwise(F.lit(False))


@dataclass(frozen=True)
class _Check:
    """One check of one row. Where ``failed`` is true (it is never null) the row is quarantined for
    ``kind``, with the message ``prefix + detail + suffix`` (``detail`` cut to a readable length)."""

    kind: str
    failed: Column
    prefix: str
    detail: Column | None = None
    suffix: str = ""


def _field_checks(f: Field, raw: Column, value: Column) -> list[_Check]:
    """The checks of ``f``: present when required, readable as its type, within its range. ``raw`` is
    the value's JSON text, ``value`` the typed value (for a string: the trimmed text, null when blank)."""
    checks = []
    if f.required:
        missing = value.isNull() if f.dtype == T.StringType() else raw.isNull()
        checks.append(_Check(f.missing_kind, missing, f.missing_kind))
    unreadable = _is_container(value) if f.dtype == T.StringType() else raw.isNotNull() & value.isNull()
    checks.append(_Check(f.type_kind, unreadable, f"{f.type_kind}: '", raw, "'"))
    if f.range_kind:
        low = value < F.lit(f.minimum) if f.minimum is not None else F.lit(False)
        high = value > F.lit(f.maximum) if f.maximum is not None else F.lit(False)
        out_of_range = value.isNotNull() & (low | high)
        checks.append(_Check(f.range_kind, out_of_range, f"{f.range_kind}: ", value.cast("string")))
    return checks


def _row_check(check: RowCheck) -> _Check:
    shown = F.concat_ws(", ", *[F.concat(F.lit(f"{c}="), F.col(c).cast("string")) for c in check.shows])
    failed = F.coalesce(~F.expr(check.holds), F.lit(False))
    return _Check(check.kind, failed, f"{check.kind} (", shown, ")")


def _messages(checks: Sequence[_Check]) -> Column:
    """Every check's message, in order (built from data, so the generated code stays small)."""

    def cut(detail: Column) -> Column:
        long = F.length(detail) > _SHOWN_CHARS
        return F.coalesce(F.when(long, F.concat(F.substring(detail, 1, _SHOWN_CHARS), F.lit("..."))).otherwise(detail),
                          F.lit(""))

    prefixes = _literal_array([c.prefix for c in checks])
    details = F.array(*[c.detail.cast("string") if c.detail is not None else F.lit(None).cast("string")
                        for c in checks])
    suffixes = _literal_array([c.suffix for c in checks])
    heads = F.zip_with(prefixes, details, lambda prefix, detail: F.concat(prefix, cut(detail)))
    return F.zip_with(heads, suffixes, lambda head, suffix: F.concat(head, suffix))


def _parsed(bronze: DataFrame, schema: PayloadSchema, payload: str) -> DataFrame:
    """Bronze columns, ``_json`` (the payload's declared fields, each as its JSON text), ``_not_object``
    and per field ``_text_<f>``, its text trimmed (null when blank).

    Every field is read as text: one parse per payload, and the raw value stays at hand for the reason;
    typing is then plain column arithmetic on that text."""
    as_text = T.StructType([T.StructField(f.name, T.StringType()) for f in schema.fields]
                           + [T.StructField(_CORRUPT, T.StringType())])
    json = F.from_json(payload, as_text, {"columnNameOfCorruptRecord": _CORRUPT})
    parsed = bronze.select("*", json.alias("_json"))
    return parsed.select(
        *bronze.columns,
        "_json",
        (F.col("_json").isNull() | F.col(f"_json.{_CORRUPT}").isNotNull()).alias("_not_object"),
        *[F.nullif(trimmed(F.col("_json").getField(f.name)), F.lit("")).alias(f"_text_{f.name}")
          for f in schema.fields],
    )


def _failure_masks(checks: Sequence[_Check]) -> list[Column]:
    """The checks' results packed into bit masks (bit ``i % 62`` of mask ``i // 62`` is check ``i``):
    one narrow column instead of one per check between the projections."""
    masks = []
    for start in range(0, len(checks), _MASK_BITS):
        bits = [F.when(c.failed, F.lit(1 << j)).otherwise(F.lit(0))
                for j, c in enumerate(checks[start:start + _MASK_BITS])]
        masks.append(reduce(operator.add, bits).cast("long"))
    return masks


def _literal_array(values: Sequence[str] | Sequence[int]) -> Column:
    """An array literal, as one SQL expression (one call to the JVM rather than one per element)."""
    def literal(v: str | int) -> str:
        if isinstance(v, int):
            return f"{v}L"
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return F.expr(f"array({', '.join(literal(v) for v in values)})")


_BITS = [1 << j for j in range(_MASK_BITS)]


def _check_failed(mask_names: Sequence[str], index: Column) -> Column:
    """Whether check ``index`` (a lambda variable) failed, read from the bit masks."""
    mask = F.element_at(F.array(*[F.col(n) for n in mask_names]), (index / _MASK_BITS).cast("int") + 1)
    bit = F.element_at(_literal_array(_BITS), index % _MASK_BITS + 1)
    return mask.bitwiseAND(bit) != 0


def type_payloads(bronze: DataFrame, schema: PayloadSchema, payload: str = "payload") -> DataFrame:
    """Bronze rows with their payload typed against ``schema``.

    Grain and key: one row per bronze row (``run_date, record_index``), none added or dropped. Columns:
    the bronze columns, then one column per declared field (named and typed as declared; null when
    absent or unreadable), then ``reason`` (null for a valid row, else every failed check's message
    joined with "; ") and ``reason_kinds`` (the failed checks' kinds; null for a valid row). A payload
    that is not a JSON object has the one reason ``payload is not a JSON object``.
    """
    names = [f.name for f in schema.fields]
    parsed = _parsed(bronze, schema, payload)
    typed = parsed.select(
        *bronze.columns,
        "_json",
        "_not_object",
        *[_read_as(F.col(f"_text_{f.name}"), f.dtype).alias(f.name) for f in schema.fields],
    )
    raw = F.col("_json")
    checks = [check for f in schema.fields for check in _field_checks(f, raw.getField(f.name), F.col(f.name))]
    checks += [_row_check(c) for c in schema.checks]
    # Each check is evaluated once, into a bit mask; messages and kinds are only built for the (few)
    # rows that failed one.
    masks = _failure_masks(checks)
    mask_names = [f"_failures_{k}" for k in range(len(masks))]
    flagged = typed.select(
        *bronze.columns, "_json", "_not_object", *names,
        *[mask.alias(name) for mask, name in zip(masks, mask_names, strict=True)],
    )
    not_object = F.col("_not_object")
    invalid = reduce(operator.or_, [F.col(n) != 0 for n in mask_names], not_object)
    # Messages and kinds are picked by index from arrays built from data, inside lambda filters: each
    # mask is referenced once (a filter the optimiser pushes below this projection inlines it once, not
    # once per check) and the generated code does not grow with the messages. Only invalid rows get here.
    messages = F.filter(_messages(checks), lambda _, i: _check_failed(mask_names, i))
    kinds = F.filter(_literal_array([c.kind for c in checks]), lambda _, i: _check_failed(mask_names, i))
    return flagged.select(
        *bronze.columns,
        *names,
        F.when(not_object, F.lit(NOT_AN_OBJECT)).when(invalid, F.array_join(messages, "; ")).alias(REASON),
        F.when(not_object, F.array(F.lit(NOT_AN_OBJECT))).when(invalid, kinds).alias(REASON_KINDS),
    )


def valid_rows(typed: DataFrame) -> DataFrame:
    """The typed rows that passed every check, without ``reason``/``reason_kinds``.

    Grain: one row per valid bronze row (``run_date, record_index``); versions not yet deduplicated."""
    return typed.where(F.col(REASON).isNull()).drop(REASON, REASON_KINDS)


def quarantine_rows(typed: DataFrame, dataset: str, schema: T.StructType) -> DataFrame:
    """The typed rows that failed a check, as the quarantine ``schema`` lays them out (its columns are
    taken from the typed frame by name, plus ``dataset``).

    Grain: one row per rejected bronze row (``run_date, record_index``), with its raw payload and reason."""
    rejected = typed.where(F.col(REASON).isNotNull()).withColumn("dataset", F.lit(dataset))
    return conform(rejected, schema)


def latest_versions(rows: DataFrame, key: Sequence[str], order: Sequence[str]) -> DataFrame:
    """One row per ``key``: the row whose ``order`` columns are greatest, compared left to right (a
    null sorts below any value). Every other row of the key is a duplicate and is dropped.

    Grain: one row per ``key``. One shuffle (by key); columns unchanged."""
    window = Window.partitionBy(*key).orderBy(*[F.col(c).desc_nulls_last() for c in order])
    ranked = rows.withColumn("_version_rank", F.row_number().over(window))
    return ranked.where(F.col("_version_rank") == 1).drop("_version_rank")


def conform(frame: DataFrame, schema: T.StructType) -> DataFrame:
    """Exactly ``schema``'s columns, in its order and of its types (extra columns dropped). Nullability
    stays the expressions' own; read back from Parquet every column is nullable, as the schemas say.

    Grain unchanged."""
    return frame.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])


def count_aggregates() -> list[Column]:
    """Aggregate expressions over a typed frame: ``bronze_rows``, ``valid_rows``, ``quarantined_rows``."""
    return [
        F.count(F.lit(1)).alias("bronze_rows"),
        F.count_if(F.col(REASON).isNull()).alias("valid_rows"),
        F.count_if(F.col(REASON).isNotNull()).alias("quarantined_rows"),
    ]


def reason_counts(typed: DataFrame) -> DataFrame:
    """How many rows were quarantined for each reason kind (a row with two reasons counts for both).

    Grain: one row per reason kind that occurred; key ``kind``; columns ``kind, rows``."""
    # explode_outer: plain explode would make Spark infer (and push down) a filter on the kinds' size.
    kinds = typed.where(F.col(REASON).isNotNull()).select(F.explode_outer(REASON_KINDS).alias("kind"))
    return kinds.groupBy("kind").agg(F.count(F.lit(1)).alias("rows"))


def silver_counts(typed_counts: Mapping[str, int], reasons: Mapping[str, int], silver_rows: int,
                  written: Mapping[str, int] | None = None, changes: BronzeChanges | None = None) -> dict:
    """A dataset's ``_counts.json`` entry: the :func:`count_aggregates` of the bronze rows this run read,
    its :func:`reason_counts` (as a mapping), the rows silver holds after the run, and how the run wrote
    them: ``written`` (rows ``inserted`` and ``updated``; by default a rebuild, every row inserted).

    ``valid_rows = inserted + updated + duplicates_dropped``: a valid row silver did not take is a
    duplicate, or a version older than the one silver holds. ``mode`` is ``full`` or ``incremental``;
    ``bronze_version`` and ``bronze_partitions`` say what was read (when known), and ``reason`` why a run that
    tracks bronze's changes rebuilt instead."""
    valid = int(typed_counts["valid_rows"])
    written = written or {"inserted": silver_rows, "updated": 0}
    inserted, updated = int(written["inserted"]), int(written["updated"])
    counts = {
        "mode": changes.mode if changes else "full",
        "bronze_rows": int(typed_counts["bronze_rows"]),
        "valid_rows": valid,
        "quarantined_rows": int(typed_counts["quarantined_rows"]),
        "inserted": inserted,
        "updated": updated,
        "duplicates_dropped": valid - inserted - updated,
        "silver_rows": silver_rows,
        "reasons": {kind: int(n) for kind, n in sorted(reasons.items())},
    }
    if changes is not None:
        counts["bronze_version"] = changes.version
        counts["bronze_partitions"] = ([d.isoformat() for d in changes.run_dates] if changes.incremental
                                       else "all")
        if not changes.incremental:
            counts["reason"] = changes.reason
    return counts


def output_files(rows: int, rows_per_file: int) -> int:
    """How many files to write ``rows`` rows into: one per ``rows_per_file`` rows, at least one."""
    return max(1, math.ceil(rows / max(1, rows_per_file)))


def read_bronze(spark: SparkSession, uri: str, schema: T.StructType = BRONZE_SCHEMA) -> DataFrame:
    """The bronze Delta table at ``uri`` (its current version: every partition), in the columns of
    ``schema`` (the bronze columns with ``run_date`` by default), each cast to its declared type.

    For a job's ``main``. Raises FileNotFoundError when there is no table at ``uri``: the endpoint's
    ingest has not run."""
    if not path_exists(spark, f"{uri.rstrip('/')}/_delta_log"):
        raise FileNotFoundError(
            f"no bronze data at {uri}: the ingest of this endpoint did not run (or wrote elsewhere); "
            "run its ingest task for at least one run date, then rerun silver"
        )
    frame = spark.read.format("delta").load(uri)
    return frame.select(*(F.col(f.name).cast(f.dataType).alias(f.name) for f in schema))


# ---------------------------------------------------------------------------------------------------
# A silver job's one step per dataset


@dataclass(frozen=True)
class TypedPart:
    """Bronze rows typed against one payload, and how their valid rows become the dataset's rows."""

    typed: DataFrame
    normalise: Callable[[DataFrame], DataFrame]


def _write(frame: DataFrame, uri: str, files: int) -> None:
    """Replace the Delta table at ``uri`` with ``frame`` in one commit (its schema included)."""
    frame.coalesce(files).write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(uri)


def merge_latest(spark: SparkSession, rows: DataFrame, uri: str, key: Sequence[str], order: Sequence[str]) -> dict:
    """MERGE ``rows`` (one per ``key``) into the Delta table at ``uri`` in one commit: a key silver lacks
    is inserted; a key it has is updated when the row's version (``order``, as :func:`latest_versions`
    compares it) is greater. So silver stays the latest version of every key, as a rebuild would make it.
    Returns the rows inserted and updated."""
    from delta.tables import DeltaTable

    from spark_jobs.common.incremental import newer_than_target

    matches = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in key)
    metrics = (DeltaTable.forPath(spark, uri).alias("t").merge(rows.alias("s"), matches)
               .whenMatchedUpdateAll(condition=newer_than_target(tuple(order)))
               .whenNotMatchedInsertAll()
               .execute().first())  # the MERGE's own row counts
    return {"inserted": int(metrics["num_inserted_rows"]), "updated": int(metrics["num_updated_rows"])}


def append_new(spark: SparkSession, rows: DataFrame, uri: str, key: Sequence[str]) -> None:
    """Insert the ``rows`` whose ``key`` the Delta table at ``uri`` does not hold yet, in one commit (so a
    rerun of the same bronze adds nothing twice); creates the table when there is none."""
    from delta.tables import DeltaTable

    if not path_exists(spark, f"{uri.rstrip('/')}/_delta_log"):
        _write(rows, uri, 1)
        return
    matches = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in key)
    DeltaTable.forPath(spark, uri).alias("t").merge(rows.alias("s"), matches).whenNotMatchedInsertAll().execute()


def conform_with_versions(frame: DataFrame, dataset: SilverDataset) -> DataFrame:
    """:func:`conform` to the dataset's schema, followed by the columns of its ``version_order`` that the
    schema does not have (``run_date``, ``record_index``…): silver keeps each row's version, so an
    incremental run can tell whether a new row is newer. Readers select the schema's columns."""
    extra = [c for c in dataset.version_order if c not in dataset.columns]
    return frame.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in dataset.schema.fields], *extra)


def cached_typed(parts: Sequence[TypedPart]) -> list[DataFrame]:
    """The parts' typed rows, cached: they are read for the counts, the quarantine and silver. Valid rows
    lose their raw payload, which nothing needs any more. The caller unpersists them."""
    return [p.typed.withColumn("payload", F.when(F.col(REASON).isNotNull(), F.col("payload"))).cache()
            for p in parts]


def checked(spark: SparkSession, typed: Sequence[DataFrame], run_id: str, dataset: str,
            quarantine_schema: T.StructType) -> tuple[dict[str, int], dict[str, int], DataFrame]:
    """What the checks of ``typed`` found: the totals (:func:`count_aggregates`), the quarantined rows by
    reason kind, and the quarantined rows themselves with ``run_id`` (an empty frame when none)."""
    checks = reduce(DataFrame.unionByName, [t.select(REASON, REASON_KINDS) for t in typed])
    totals = {name: int(value) for name, value in checks.agg(*count_aggregates()).first().asDict().items()}
    if not totals["quarantined_rows"]:
        return totals, {}, spark.createDataFrame([], quarantine_schema)
    reasons = {row["kind"]: int(row["rows"]) for row in reason_counts(checks).collect()}
    quarantined = reduce(DataFrame.unionByName, [quarantine_rows(t.withColumn("run_id", F.lit(run_id)), dataset,
                                                                 quarantine_schema) for t in typed])
    return totals, reasons, quarantined


def build_dataset(spark: SparkSession, args: JobArgs, dataset: SilverDataset, parts: Sequence[TypedPart],
                  finish: Callable[[DataFrame], DataFrame], rows_per_file: int,
                  quarantine_schema: T.StructType, changes: BronzeChanges | None = None) -> dict:
    """Count, quarantine and write one silver dataset from its typed parts; return its counts.

    ``finish`` makes silver rows of the union of the parts' normalised valid rows (the latest version per
    key). Rejected rows go to ``silver/<source>/_quarantine/<dataset>`` with their reason and the run's
    id, written even when empty so readers always find it.

    Without ``changes``, or when ``changes`` says to rebuild, the parts hold all of bronze and silver and
    the quarantine are replaced. When ``changes`` is incremental, the parts hold only the bronze
    partitions committed since the last run: their rows are MERGEd into silver (:func:`merge_latest`)
    and their rejected rows appended to the quarantine."""
    started = time.perf_counter()
    incremental = changes is not None and changes.incremental
    silver_uri = args.zone("silver", dataset.name)
    quarantine_uri = args.zone("silver", f"_quarantine/{dataset.name}")
    typed = cached_typed(parts)
    try:
        totals, reasons, quarantined = checked(spark, typed, args.run_id, dataset.name, quarantine_schema)
        if incremental:
            if totals["quarantined_rows"]:
                append_new(spark, quarantined, quarantine_uri, QUARANTINE_KEY)
        else:
            _write(quarantined, quarantine_uri, output_files(totals["quarantined_rows"], rows_per_file))
        normalised = reduce(DataFrame.unionByName,
                            [p.normalise(valid_rows(t)) for p, t in zip(parts, typed, strict=True)])
        if incremental and path_exists(spark, f"{silver_uri}/_delta_log"):
            written = (merge_latest(spark, finish(normalised), silver_uri, dataset.key, dataset.version_order)
                       if totals["valid_rows"] else {"inserted": 0, "updated": 0})  # nothing new: no commit
            silver_rows = spark.read.format("delta").load(silver_uri).count()
        else:
            kept = Observation(f"{dataset.name}_silver")
            silver = finish(normalised).observe(kept, F.count(F.lit(1)).alias("rows"))
            _write(silver, silver_uri, output_files(totals["valid_rows"], rows_per_file))
            silver_rows = int(kept.get["rows"])
            written = {"inserted": silver_rows, "updated": 0}
        counts = silver_counts(totals, reasons, silver_rows, written, changes)
    finally:
        for frame in typed:
            frame.unpersist()
    log.info(
        "silver %s: %s; %d bronze rows = %d valid + %d quarantined; %d valid = %d inserted + %d updated + "
        "%d duplicates or older versions; silver holds %d rows; reasons %s (%.1fs)",
        dataset.name, changes.describe() if changes else "full rebuild", counts["bronze_rows"], counts["valid_rows"],
        counts["quarantined_rows"], counts["valid_rows"], counts["inserted"], counts["updated"],
        counts["duplicates_dropped"], counts["silver_rows"], counts["reasons"] or "none",
        time.perf_counter() - started,
    )
    return counts
