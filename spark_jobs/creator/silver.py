"""Creator silver: every bronze record of the four creator endpoints, typed, normalised, deduplicated.

    spark-submit --py-files spark_jobs.zip spark_jobs/creator/silver.py \\
        --lake-root <lake> --run-date <ds> --source creator

For each dataset of :data:`~spark_jobs.creator.schemas.SILVER_DATASETS` it reads the bronze table of
the endpoint of the same name: only the partitions committed since the last run
(:mod:`spark_jobs.common.incremental`; all of it on the first run, with ``--full-refresh true``, or when a
date was re-ingested). It types each payload against the dataset's declared payload
(:mod:`spark_jobs.common.silver`), normalises the valid rows (the functions below), keeps the latest
version per natural key, and writes

- ``<lake>/silver/creator/<dataset>/``: the dataset's schema columns, then the version columns that
  order its rows (``run_date``, ``record_index``…); an incremental run MERGEs into it, a rebuild replaces it;
  its Change Data Feed is on, so the gold job reads what each MERGE changed;
- ``<lake>/silver/creator/_quarantine/<dataset>/``: the rejected bronze rows with their reason and the
  run's id (``QUARANTINE_SCHEMA``), appended to (replaced by a rebuild), existing even when empty;
- ``<lake>/silver/creator/_watermarks/``: per dataset, the bronze version read and the silver version written;
- ``<lake>/silver/creator/_counts.json``: per dataset, what this run read (bronze / valid / quarantined
  rows), what it wrote (inserted / updated; the rest duplicates or older versions), the rows silver
  holds, and the quarantine reasons by kind.

It then builds the cross-platform datasets (:mod:`spark_jobs.creator.cross_platform`,
``CROSS_PLATFORM_DATASETS``) whose inputs have bronze: ``channel_snapshots`` and ``video_snapshots`` from the
YouTube crawl, incrementally as above; ``export_posts`` and ``export_account_days`` from the export inbox's
tables, rebuilt from all of them every run. A deployment without YouTube or exports builds none of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pyspark.sql.functions as F
from pyspark.sql import Column, DataFrame, SparkSession

from spark_jobs.common.gold_changes import ensure_change_feed
from spark_jobs.common.incremental import (
    BronzeChanges,
    bronze_changes,
    commit_versions,
    ensure_watermarks,
    read_changed_bronze,
    record_watermark,
)
from spark_jobs.common.job import (
    JobArgs,
    fit_to_input,
    hadoop_path,
    parse_args,
    path_exists,
    read_json,
    spark_session,
    write_json,
    zone_uri,
)
from spark_jobs.common.silver import (
    BRONZE_SCHEMA,
    TypedPart,
    build_dataset,
    canonical_spelling,
    collapse_whitespace,
    conform,
    conform_with_versions,
    latest_versions,
    type_payloads,
)
from spark_jobs.creator import cross_platform as xp
from spark_jobs.creator.schemas import (
    CHANNEL_SNAPSHOTS,
    CROSS_PLATFORM_DATASETS,
    DAYS_OF_WEEK,
    EXPORT_BRONZE,
    EXPORT_POSTS,
    PLATFORMS,
    QUARANTINE_SCHEMA,
    SILVER_DATASETS,
    YOUTUBE_BRONZE,
    SilverDataset,
)

log = logging.getLogger("pulse.creator.silver")

# Carried through normalisation so latest_versions can order the versions of a key.
VERSION_COLUMNS = ("run_date", "record_index")
LARGEST_FIRST = ("engagement", "content")


def _name(column: str) -> Column:
    """A name or category (platform, segment, device…): inner whitespace collapsed to one space."""
    return collapse_whitespace(F.col(column)).alias(column)


def _platform(column: str) -> Column:
    return canonical_spelling(collapse_whitespace(F.col(column)), PLATFORMS).alias(column)


def normalise_demographics(valid: DataFrame) -> DataFrame:
    """Valid typed demographics rows in silver's columns: names' whitespace collapsed, ``signup_date``
    as the ``signup_at`` timestamp; plus ``run_date, record_index``.

    Grain: one row per valid bronze record; key ``user_id`` (not yet unique: versions not deduplicated)."""
    return valid.select(
        "user_id",
        "age",
        *[_name(c) for c in ("age_group", "device", "creator_segment")],
        F.col("signup_date").alias("signup_at"),
        *[_name(c) for c in ("active_status", "subscription_tier")],
        "updated_at",
        *VERSION_COLUMNS,
    )


def headquarter_parts(location: Column) -> tuple[Column, Column]:
    """``(city, country)`` of a ``"City, Country"`` location, split at its last comma (so
    ``"Washington, D.C., USA"`` is in ``USA``); both null when there is no comma."""
    parts = r"^(.*),\s*([^,]*)$"
    city = F.nullif(F.btrim(F.regexp_extract(location, parts, 1)), F.lit(""))
    country = F.nullif(F.btrim(F.regexp_extract(location, parts, 2)), F.lit(""))
    return city, country


def normalise_competitors(valid: DataFrame) -> DataFrame:
    """Valid typed competitor rows in silver's columns: names' whitespace collapsed, the headquarter
    location also split into city and country; plus ``run_date, record_index``.

    Grain: one row per valid bronze record; key ``competitor_id`` (not yet unique)."""
    location = collapse_whitespace(F.col("headquarter_location"))
    city, country = headquarter_parts(location)
    return valid.select(
        "competitor_id",
        _name("platform_name"),
        "founding_year",
        location.alias("headquarter_location"),
        city.alias("headquarter_city"),
        country.alias("headquarter_country"),
        "commission_percentage",
        "supported_countries",
        "market_share_percentage",
        "sentiment_score",
        "app_store_rating",
        "google_play_rating",
        *VERSION_COLUMNS,
    )


def normalise_content(valid: DataFrame) -> DataFrame:
    """Valid typed content rows in silver's columns: platform and weekday in their canonical spelling,
    names' whitespace collapsed, ``published_date`` as the ``published_at`` timestamp and its UTC
    ``published_date``; plus ``text_fields_present`` (how many of title and description it has) and
    ``run_date, record_index``, which order its versions.

    Grain: one row per valid bronze record; key ``content_id`` (not yet unique)."""
    published = F.col("published_date")
    return valid.select(
        "content_id",
        "creator_id",
        _platform("platform"),
        _name("content_type"),
        "title",
        "description",
        published.alias("published_at"),
        F.to_date(published).alias("published_date"),  # the session time zone is UTC
        canonical_spelling(collapse_whitespace(F.col("day_of_week")), DAYS_OF_WEEK).alias("day_of_week"),
        "time_of_day",
        "likes",
        "comments",
        "shares",
        "views",
        "impressions",
        "average_view_time",
        "completion_rate",
        _name("creator_segment"),
        "monetization_enabled",
        "revenue_generated",
        "updated_at",
        (F.col("title").isNotNull().cast("int") + F.col("description").isNotNull().cast("int"))
        .alias("text_fields_present"),
        *VERSION_COLUMNS,
    )


def normalise_engagement(valid: DataFrame) -> DataFrame:
    """Valid typed engagement rows in silver's columns, the platform in its canonical spelling; plus
    ``run_date, record_index``.

    Grain: one row per valid bronze record; key ``creator_id, platform, date`` (not yet unique)."""
    return valid.select(
        "creator_id",
        _platform("platform"),
        "date",
        "total_likes",
        "total_comments",
        "total_shares",
        "average_view_duration",
        "impressions",
        "reach",
        "click_through_rate",
        "updated_at",
        *VERSION_COLUMNS,
    )


NORMALISERS = {
    "demographics": normalise_demographics,
    "competitors": normalise_competitors,
    "content": normalise_content,
    "engagement": normalise_engagement,
}


def silver_rows(valid: DataFrame, dataset: SilverDataset) -> DataFrame:
    """The silver table of ``dataset`` from its valid typed rows: normalised, the latest version of each
    key kept (greatest ``dataset.version_order``), exactly the schema's columns in order (what readers of
    silver select; the table also stores the version columns).

    Grain: one row per ``dataset.key``."""
    return conform(_latest(dataset)(NORMALISERS[dataset.name](valid)), dataset.schema)


def _latest(dataset: SilverDataset) -> Callable[[DataFrame], DataFrame]:
    """The latest version of each key of the normalised rows: the schema's columns, then the version's."""
    return lambda normalised: conform_with_versions(
        latest_versions(normalised, dataset.key, dataset.version_order), dataset)


def _bronze_uri(args: JobArgs, endpoint: str) -> str:
    return zone_uri(args.lake_root, "bronze", args.source, endpoint)


def _build_dataset(spark: SparkSession, args: JobArgs, dataset: SilverDataset, rows_per_file: int) -> dict:
    """Read what changed in bronze, type it, write silver and quarantine for one dataset, record the
    watermark; return its counts."""
    silver_zone, silver_uri = args.zone("silver"), args.zone("silver", dataset.name)
    columns = dataset.columns + [c for c in dataset.version_order if c not in dataset.columns]
    changes = bronze_changes(spark, silver_zone, dataset.name, _bronze_uri(args, dataset.name), silver_uri,
                             args.full_refresh, columns)
    log.info("silver %s: %s", dataset.name, changes.describe())
    bronze = read_changed_bronze(spark, changes).select(*(F.col(f.name).cast(f.dataType) for f in BRONZE_SCHEMA))
    typed = type_payloads(bronze, dataset.payload)
    counts = build_dataset(spark, args, dataset, [TypedPart(typed, NORMALISERS[dataset.name])],
                           _latest(dataset), rows_per_file, QUARANTINE_SCHEMA, changes)
    ensure_change_feed(spark, silver_uri)  # gold reads what each MERGE changed from it
    record_watermark(spark, silver_zone, dataset.name, changes, commit_versions(spark, silver_uri)[-1],
                     args.run_id, args.run_date)
    return counts


ROLE_SCHEMA = "run_date date, channel_id string, role string"


def _run_dates(spark: SparkSession, table: str) -> list[date]:
    """The ``run_date`` partitions a bronze table's folder holds."""
    path, fs = hadoop_path(spark, table)
    names = [status.getPath().getName() for status in fs.listStatus(path) if status.isDirectory()]
    return sorted(date.fromisoformat(n.split("=", 1)[1]) for n in names if n.startswith("run_date="))


def _channel_roles(spark: SparkSession, table: str, changes: BronzeChanges) -> DataFrame:
    """Whose each crawled channel is, per run date, from the manifests of the partitions this run reads."""
    dates = changes.run_dates if changes.incremental else _run_dates(spark, table)
    manifests = [(d, read_json(spark, f"{table}/run_date={d.isoformat()}/_manifest.json")) for d in dates]
    return spark.createDataFrame(xp.channel_roles(manifests), ROLE_SCHEMA)


def _build_youtube_dataset(spark: SparkSession, args: JobArgs, dataset: SilverDataset,
                           rows_per_file: int) -> dict | None:
    """One incremental YouTube dataset, as :func:`_build_dataset` builds the API's, from its crawl's bronze
    table; None (nothing written) when the crawl never ran."""
    bronze_uri = _bronze_uri(args, YOUTUBE_BRONZE[dataset.name])
    if not path_exists(spark, f"{bronze_uri}/_delta_log"):
        return None
    silver_zone, silver_uri = args.zone("silver"), args.zone("silver", dataset.name)
    columns = dataset.columns + [c for c in dataset.version_order if c not in dataset.columns]
    changes = bronze_changes(spark, silver_zone, dataset.name, bronze_uri, silver_uri, args.full_refresh, columns)
    log.info("silver %s: %s", dataset.name, changes.describe())
    bronze = read_changed_bronze(spark, changes).select(*(F.col(f.name).cast(f.dataType) for f in BRONZE_SCHEMA))
    if dataset is CHANNEL_SNAPSHOTS:
        roles = _channel_roles(spark, bronze_uri, changes)
        flat, normalise = xp.YOUTUBE_CHANNEL_PATHS, lambda valid: xp.normalise_channel_snapshots(valid, roles)
    else:
        flat, normalise = xp.YOUTUBE_VIDEO_PATHS, xp.normalise_video_snapshots
    typed = type_payloads(xp.flattened_payload(bronze, flat), dataset.payload, xp.FLAT_PAYLOAD)
    counts = build_dataset(spark, args, dataset, [TypedPart(typed, normalise)], _latest(dataset), rows_per_file,
                           QUARANTINE_SCHEMA, changes)
    ensure_change_feed(spark, silver_uri)
    record_watermark(spark, silver_zone, dataset.name, changes, commit_versions(spark, silver_uri)[-1],
                     args.run_id, args.run_date)
    return counts


def _build_export_dataset(spark: SparkSession, args: JobArgs, dataset: SilverDataset,
                          rows_per_file: int) -> dict | None:
    """One export dataset, rebuilt from all of its formats' bronze tables; None when no export of those
    formats was ever ingested."""
    uris = [_bronze_uri(args, table) for table in EXPORT_BRONZE[dataset.name]]
    present = [uri for uri in uris if path_exists(spark, f"{uri}/_delta_log")]
    if not present:
        return None
    log.info("silver %s: full rebuild from %s (export datasets are rebuilt every run)", dataset.name,
             ", ".join(present))
    bronze = xp.export_bronze([spark.read.format("delta").load(uri) for uri in present])
    typed = type_payloads(bronze, dataset.payload)
    if dataset is EXPORT_POSTS:
        normalise, finish = xp.normalise_export_posts, xp.latest_export_posts
    else:
        normalise, finish = xp.normalise_export_account_days, xp.latest_account_days
    return build_dataset(spark, args, dataset, [TypedPart(typed, normalise)], finish, rows_per_file,
                         QUARANTINE_SCHEMA)


def build_cross_platform(spark: SparkSession, args: JobArgs, name: str, rows_per_file: int) -> dict | None:
    """Build the cross-platform dataset ``name`` (one of ``CROSS_PLATFORM_DATASETS``) and return its counts, or
    None when its input never landed in bronze (nothing is written then, and gold reads it as empty)."""
    build = _build_youtube_dataset if name in YOUTUBE_BRONZE else _build_export_dataset
    return build(spark, args, CROSS_PLATFORM_DATASETS[name], rows_per_file)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv, "Creator silver: bronze records to typed, deduplicated silver datasets.",
                      {"rows-per-file": "1000000"})
    if args.source != "creator":
        raise ValueError(f"spark_jobs/creator/silver.py builds the creator source's silver, "
                         f"not {args.source!r}: pass --source creator")
    spark = spark_session(f"pulse-{args.source}-silver")
    fit_to_input(spark, [args.zone("bronze"), args.zone("silver")])
    # Typing a wide payload generates methods over HotSpot's 8 KB JIT limit; at 8000 Spark splits such a
    # stage into per-expression code the JIT compiles (Spark's advice for HotSpot), instead of running
    # it interpreted.
    spark.conf.set("spark.sql.codegen.hugeMethodLimit", "8000")
    rows_per_file = int(args.extra["rows-per-file"])
    missing = [uri for uri in (_bronze_uri(args, name) for name in SILVER_DATASETS) if not path_exists(spark, uri)]
    if missing:  # checked before any work, so a missing endpoint leaves silver as it was
        raise FileNotFoundError(f"no bronze data at {', '.join(missing)}: the ingest of these endpoints did not run "
                                "(or wrote elsewhere); run their ingest tasks, then rerun silver")
    ensure_watermarks(spark, args.zone("silver"))  # created once, before two datasets append to it at once
    # Two datasets at a time: one's planning and small jobs overlap the other's tasks. Largest first,
    # so the small ones fill in beside it.
    with ThreadPoolExecutor(max_workers=2) as pool:
        order = [*LARGEST_FIRST, *(name for name in SILVER_DATASETS if name not in LARGEST_FIRST)]
        futures = {name: pool.submit(_build_dataset, spark, args, SILVER_DATASETS[name], rows_per_file)
                   for name in order}
        cross = {name: pool.submit(build_cross_platform, spark, args, name, rows_per_file)
                 for name in CROSS_PLATFORM_DATASETS}
        counts = {name: futures[name].result() for name in SILVER_DATASETS}
        counts.update({name: c for name, future in cross.items() if (c := future.result()) is not None})
    write_json(spark, f"{args.zone('silver')}/_counts.json", counts)


if __name__ == "__main__":
    main()
