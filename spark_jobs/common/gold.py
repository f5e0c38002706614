"""What both gold jobs share: reading silver, writing gold, exact ratios and means, and the calendar.

Every function is a pure ``Column``/``DataFrame`` expression except :func:`read_silver` and
:func:`write_gold`, the jobs' only I/O.
"""

from __future__ import annotations

from collections.abc import Collection

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs.common.job import JobArgs, path_exists
from spark_jobs.common.schemas import SilverDataset

RATIO_DECIMALS = 6
EXACT = T.DecimalType(38, 18)  # sums of doubles, exact and independent of row order


def col(column: Column | str) -> Column:
    return F.col(column) if isinstance(column, str) else column


def ratio(numerator: Column | str, denominator: Column | str) -> Column:
    """``numerator / denominator`` rounded to 6 decimals; null when the denominator is 0 or null."""
    den = col(denominator)
    return F.when(den > 0, F.round(col(numerator).cast("double") / den, RATIO_DECIMALS))


def first_per_key(frame: DataFrame, key: list[str] | tuple[str, ...], order: list[Column]) -> DataFrame:
    """One row per ``key``: the first by ``order`` (which must break every tie that matters)."""
    window = Window.partitionBy(*key).orderBy(*order)
    return frame.select("*", F.row_number().over(window).alias("_n")).where(F.col("_n") == 1).drop("_n")


def sum_or_null(*columns: str) -> Column:
    """The sum of the columns, null when any is null (a count a source does not report, or hides, is not 0)."""
    total = F.col(columns[0])
    for c in columns[1:]:
        total = total + F.col(c)
    return total


def named(code: Column, names: dict[str, str]) -> Column:
    """The name ``names`` gives ``code``; null when it gives none."""
    return F.try_element_at(F.create_map(*[F.lit(x) for pair in names.items() for x in pair]), code)


def exact_mean(column: Column | str) -> Column:
    """The mean of a double column, summed exactly (as a decimal) and rounded to 6 decimals."""
    return F.round(F.avg(col(column).cast(EXACT)), RATIO_DECIMALS).cast("double")


def iso_day_of_week(date: Column) -> Column:
    """ISO day of the week: Monday = 1 … Sunday = 7 (Spark's ``dayofweek`` counts Sunday = 1)."""
    return (F.dayofweek(date) + 5) % 7 + 1


def week_start(date: Column) -> Column:
    """The Monday of the date's ISO week."""
    return F.date_sub(date, iso_day_of_week(date) - 1)


def iso_year(date: Column) -> Column:
    """The year the date's ISO week belongs to: the year of that week's Thursday."""
    return F.year(F.date_add(date, 4 - iso_day_of_week(date)))


def calendar(dates: DataFrame) -> DataFrame:
    """One row per distinct ``date`` of ``dates``, with its calendar attributes; key ``date``.

    Weeks are ISO 8601 (Monday first, week 1 holds the year's first Thursday), so ``iso_year`` can
    differ from ``year`` in the first and last days of a year."""
    date = F.col("date")
    iso_day = iso_day_of_week(date)
    return dates.select("date").distinct().select(
        "date",
        F.year(date).alias("year"),
        F.quarter(date).alias("quarter"),
        F.month(date).alias("month"),
        F.date_format(date, "MMMM").alias("month_name"),
        iso_year(date).alias("iso_year"),
        F.weekofyear(date).alias("iso_week"),
        F.dayofmonth(date).alias("day_of_month"),
        F.date_format(date, "EEEE").alias("day_of_week"),
        iso_day.alias("day_of_week_number"),
        (iso_day >= 6).alias("is_weekend"),
        week_start(date).alias("week_start"),
        F.trunc(date, "month").alias("month_start"),
    )


def read_silver(spark: SparkSession, args: JobArgs, dataset: SilverDataset, required: bool = True) -> DataFrame:
    """A silver dataset with its declared schema. When it does not exist: an error naming it, or, when
    it is not ``required`` (a Spotify run fed by exports alone has no catalogue), an empty frame."""
    uri = args.zone("silver", dataset.name)
    if not path_exists(spark, uri):
        if required:
            raise FileNotFoundError(f"silver dataset {uri} does not exist: run the {args.source} silver job first")
        return spark.createDataFrame([], dataset.schema)
    return spark.read.format("delta").load(uri).select(*(F.col(f.name).cast(f.dataType) for f in dataset.schema))


def write_gold(frame: DataFrame, args: JobArgs, table: str, small_tables: Collection[str] = ()) -> None:
    """Replace gold table ``table`` in one Delta commit: a reader sees the previous version or this one, and
    the previous versions stay readable (time travel) until VACUUM. The schema is the frame's
    (``overwriteSchema``), so a gold change that adds or drops a column is a new version, not an error. A
    table in ``small_tables`` is written as one file."""
    if table in small_tables:
        frame = frame.coalesce(1)
    (frame.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
     .save(args.zone("gold", table)))
