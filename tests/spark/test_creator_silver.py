"""Creator silver (spark_jobs.creator.silver): its payload rules, normalisation, versions and the job.

Real Spark on tiny hand-made bronze rows; expected rows are computed by hand.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from spark_jobs.common import silver as common
from spark_jobs.creator import silver
from spark_jobs.creator.schemas import COMPETITORS, CONTENT, DEMOGRAPHICS, ENGAGEMENT, QUARANTINE_SCHEMA

pytestmark = pytest.mark.spark

D1, D2 = date(2026, 1, 1), date(2026, 1, 2)


def utc(*parts: int) -> datetime:
    """The UTC instant as PySpark's collect() gives it back: a naive datetime in the local time zone."""
    return datetime(*parts, tzinfo=UTC).astimezone().replace(tzinfo=None)


USER = {"user_id": "u1", "age": 31, "age_group": "30s", "device": "Mobile iOS", "creator_segment": "Gaming",
        "signup_date": "2025-04-09T15:24:11Z", "active_status": "Active", "subscription_tier": "Free",
        "updated_at": "2026-01-01T06:00:00Z"}
COMPETITOR = {"competitor_id": "k1", "platform_name": "Patreon", "founding_year": 2013,
              "headquarter_location": "San Francisco, USA", "commission_percentage": 8, "supported_countries": 20,
              "market_share_percentage": 29.65, "sentiment_score": 4.1, "app_store_rating": 3.5,
              "google_play_rating": 4.2}
POST = {"content_id": "p1", "creator_id": "u1", "platform": "YouTube", "content_type": "Video", "title": "Hello",
        "description": "First post", "published_date": "2025-05-22T07:50:12Z", "day_of_week": "Thursday",
        "time_of_day": "07:50", "likes": 40, "comments": 5, "shares": 5, "views": 90, "impressions": 100,
        "average_view_time": 26.23, "completion_rate": 63.63, "creator_segment": "Gaming",
        "monetization_enabled": True, "revenue_generated": 12.5, "updated_at": "2026-01-01T06:00:00Z"}
DAY = {"creator_id": "u1", "platform": "Twitter", "date": "2026-01-01", "total_likes": 40, "total_comments": 5,
       "total_shares": 5, "average_view_duration": 3.5, "impressions": 100, "reach": 80, "click_through_rate": 0.05,
       "updated_at": "2026-01-01T06:00:00Z"}


def bronze(spark, records: list[tuple[date, int, dict | list | str]]):
    """Bronze rows from ``(run_date, record_index, record)``; a record is sent as JSON."""
    rows = [(json.dumps(r), i, 1, "http://api/x?page=1", datetime(2026, 1, 3, 6), "creator", "x", d)
            for d, i, r in records]
    return spark.createDataFrame(rows, common.BRONZE_SCHEMA)


def reasons(spark, dataset, records: list[dict]) -> list[str | None]:
    typed = common.type_payloads(bronze(spark, [(D1, i, r) for i, r in enumerate(records)]), dataset.payload)
    return [r["reason"] for r in typed.orderBy("record_index").collect()]


def silver_table(spark, dataset, records):
    typed = common.type_payloads(bronze(spark, records), dataset.payload)
    return silver.silver_rows(common.valid_rows(typed), dataset)


def test_every_dataset_declares_a_payload_that_covers_its_silver_columns():
    derived = {"signup_at", "published_at", "headquarter_city", "headquarter_country"}
    for dataset in (DEMOGRAPHICS, COMPETITORS, CONTENT, ENGAGEMENT):
        declared = {f.name for f in dataset.payload.fields}
        assert set(dataset.columns) - declared <= derived, dataset.name
        assert set(dataset.key) <= declared


def test_content_payload_rules(spark):
    assert reasons(spark, CONTENT, [
        POST,
        {**POST, "likes": 90, "comments": 9, "shares": 9},
        {**POST, "completion_rate": 140.0, "likes": "n/a"},
        {**POST, "monetization_enabled": False, "revenue_generated": 3.0},
        {k: v for k, v in POST.items() if k not in ("title", "description", "updated_at")},
        {**POST, "views": -1, "creator_segment": " "},
    ]) == [
        None,
        "likes + comments + shares above impressions (likes=90, comments=9, shares=9, impressions=100)",
        "likes is not an integer: 'n/a'; completion_rate out of range [0, 100]: 140.0",
        "revenue_generated on a post without monetization (monetization_enabled=false, revenue_generated=3.0)",
        None,  # title, description and updated_at are optional
        "views below 0: -1; missing required field: creator_segment",
    ]


def test_engagement_and_demographics_payload_rules(spark):
    assert reasons(spark, ENGAGEMENT, [
        DAY,
        {k: v for k, v in DAY.items() if k != "reach"},
        {**DAY, "total_likes": 99},
        {**DAY, "click_through_rate": 1.2, "date": "2026-01-01T00:00:00Z"},
    ]) == [
        None,
        "missing required field: reach",
        "total_likes + total_comments + total_shares above impressions "
        "(total_likes=99, total_comments=5, total_shares=5, impressions=100)",
        "date is not a date (YYYY-MM-DD): '2026-01-01T00:00:00Z'; click_through_rate out of range [0, 1]: 1.2",
    ]
    assert reasons(spark, DEMOGRAPHICS, [USER, {**USER, "age": 130, "signup_date": "yesterday"}]) == [
        None, "age out of range [0, 120]: 130; signup_date is not a timestamp: 'yesterday'"]


def test_demographics_normalised(spark):
    record = {**USER, "device": " Smart   TV ", "creator_segment": "Music\tProduction",
              "signup_date": "2025-04-09T17:24:11+02:00", "updated_at": "2026-01-01T06:00:00+01:00"}
    rows = silver_table(spark, DEMOGRAPHICS, [(D1, 0, record)]).collect()
    assert [tuple(r) for r in rows] == [("u1", 31, "30s", "Smart TV", "Music Production",
                                         utc(2025, 4, 9, 15, 24, 11), "Active", "Free", utc(2026, 1, 1, 5))]


def test_competitors_normalised_with_the_location_split(spark):
    records = [
        COMPETITOR,
        {**COMPETITOR, "competitor_id": "k2", "platform_name": "Buy  Me a Coffee",
         "headquarter_location": " Washington,  D.C., USA"},
        {**COMPETITOR, "competitor_id": "k3", "headquarter_location": "Nowhere"},
    ]
    frame = silver_table(spark, COMPETITORS, [(D1, i, r) for i, r in enumerate(records)])
    assert frame.columns == COMPETITORS.columns
    rows = {r["competitor_id"]: r for r in frame.collect()}
    assert tuple(rows["k1"]) == ("k1", "Patreon", 2013, "San Francisco, USA", "San Francisco", "USA", 8, 20,
                                 29.65, 4.1, 3.5, 4.2)
    k2 = rows["k2"]
    assert (k2["platform_name"], k2["headquarter_location"], k2["headquarter_city"], k2["headquarter_country"]) == (
        "Buy Me a Coffee", "Washington, D.C., USA", "Washington, D.C.", "USA")
    assert (rows["k3"]["headquarter_city"], rows["k3"]["headquarter_country"]) == (None, None)


def test_content_normalised_platform_spelling_and_publication_time(spark):
    records = [
        {**POST, "platform": "youtube"},
        {**POST, "content_id": "p2", "platform": " TIKTOK ", "content_type": "Live   Stream", "day_of_week": "friday",
         "published_date": "2025-05-22T23:30:00-02:00"},
        {**POST, "content_id": "p3", "platform": "Bluesky"},
    ]
    frame = silver_table(spark, CONTENT, [(D1, i, r) for i, r in enumerate(records)])
    assert frame.columns == CONTENT.columns
    rows = {r["content_id"]: r for r in frame.collect()}
    assert tuple(rows["p1"]) == ("p1", "u1", "YouTube", "Video", "Hello", "First post",
                                 utc(2025, 5, 22, 7, 50, 12), date(2025, 5, 22), "Thursday", "07:50",
                                 40, 5, 5, 90, 100, 26.23, 63.63, "Gaming", True, 12.5, utc(2026, 1, 1, 6))
    p2 = rows["p2"]
    assert (p2["platform"], p2["content_type"], p2["day_of_week"], p2["published_at"], p2["published_date"]) == (
        "TikTok", "Live Stream", "Friday", utc(2025, 5, 23, 1, 30), date(2025, 5, 23))
    assert rows["p3"]["platform"] == "Bluesky"  # unknown platforms are kept as sent


def test_engagement_keeps_the_latest_version_of_each_creator_platform_and_day(spark):
    records = [
        (D1, 0, {**DAY, "total_likes": 10}),
        (D2, 3, {**DAY, "platform": "twitter", "total_likes": 30, "updated_at": "2026-01-02T06:00:00Z"}),
        (D2, 4, {**DAY, "total_likes": 20}),  # a stale version served late: older updated_at loses
        (D2, 5, {**DAY, "platform": "LinkedIn", "total_likes": 1}),
        (D2, 6, {**DAY, "platform": "LinkedIn", "total_likes": 1}),  # exact copy
    ]
    frame = silver_table(spark, ENGAGEMENT, records)
    assert frame.columns == ENGAGEMENT.columns
    assert sorted((r["platform"], r["total_likes"], r["updated_at"]) for r in frame.collect()) == [
        ("LinkedIn", 1, utc(2026, 1, 1, 6)), ("Twitter", 30, utc(2026, 1, 2, 6))]


def test_competitors_without_updated_at_keep_the_later_ingest(spark):
    records = [(D2, 0, {**COMPETITOR, "supported_countries": 30}), (D1, 9, COMPETITOR),
               (D2, 1, {**COMPETITOR, "supported_countries": 31})]
    rows = silver_table(spark, COMPETITORS, records).collect()
    assert [(r["competitor_id"], r["supported_countries"]) for r in rows] == [("k1", 31)]


def test_a_post_copy_without_its_title_never_replaces_the_whole_post(spark):
    untitled = {k: v for k, v in POST.items() if k != "title"}
    records = [(D1, 0, POST), (D1, 1, untitled),  # same updated_at, later in the page: the fuller one wins
               (D1, 2, {**POST, "content_id": "p2"}),
               (D1, 3, {**untitled, "content_id": "p2", "likes": 41, "updated_at": "2026-01-01T07:00:00Z"})]
    rows = silver_table(spark, CONTENT, records).orderBy("content_id").collect()
    assert [(r["content_id"], r["title"], r["likes"]) for r in rows] == [("p1", "Hello", 40), ("p2", None, 41)]


def write_bronze(lake, endpoint: str, run_date: date, records: list) -> None:
    from pulse.lake import BronzePartitionWriter

    writer = BronzePartitionWriter(lake, "creator", endpoint, run_date)
    writer.add_page(1, f"http://creator-api/api/{endpoint}?page=1", records)
    writer.commit({"endpoint": endpoint})


@pytest.fixture(scope="module")
def silver_run(spark, tmp_path_factory):
    """A small lake with two run dates of overlapping records, then the silver job over it."""
    lake = tmp_path_factory.mktemp("lake")
    u2 = {**USER, "user_id": "u2"}
    write_bronze(lake, "demographics", D1, [USER, u2])
    write_bronze(lake, "demographics", D2, [{**USER, "subscription_tier": "Premium",
                                             "updated_at": "2026-01-02T06:00:00Z"},
                                            {**USER, "user_id": "u3", "age": "n/a"}])
    k2 = {**COMPETITOR, "competitor_id": "k2", "platform_name": "Ko-fi"}
    write_bronze(lake, "competitors", D1, [COMPETITOR, k2])
    write_bronze(lake, "competitors", D2, [{**COMPETITOR, "commission_percentage": 10}, k2])
    p2 = {**POST, "content_id": "p2", "platform": "instagram"}
    write_bronze(lake, "content", D1, [POST])
    write_bronze(lake, "content", D2, [{**POST, "likes": 1, "updated_at": "2025-12-31T06:00:00Z"}, p2, p2,
                                       {**POST, "content_id": "p3", "completion_rate": 140.0}])
    write_bronze(lake, "engagement", D1, [DAY])
    write_bronze(lake, "engagement", D2, [{**DAY, "total_likes": 45, "updated_at": "2026-01-02T06:00:00Z"},
                                          [1, 2]])
    silver.main(["--lake-root", str(lake), "--run-date", "2026-01-02", "--source", "creator"])
    return lake


def read_silver(spark, lake, dataset: str):
    return spark.read.format("delta").load(str(lake / "silver" / "creator" / dataset))


def test_the_job_writes_each_silver_dataset_with_exactly_its_schema(spark, silver_run):
    for dataset in (DEMOGRAPHICS, COMPETITORS, CONTENT, ENGAGEMENT):
        frame = read_silver(spark, silver_run, dataset.name)
        # The schema's columns (read back, every column is nullable), then what orders a key's versions.
        versions = [c for c in dataset.version_order if c not in dataset.columns]
        assert frame.columns == dataset.columns + versions, dataset.name
        assert frame.select(*dataset.columns).schema == dataset.schema, dataset.name
    def rows(dataset: str) -> list:
        return read_silver(spark, silver_run, dataset).collect()

    assert {r["user_id"]: r["subscription_tier"] for r in rows("demographics")} == {"u1": "Premium", "u2": "Free"}
    assert {r["competitor_id"]: r["commission_percentage"] for r in rows("competitors")} == {"k1": 10, "k2": 8}
    content = {r["content_id"]: (r["platform"], r["likes"]) for r in rows("content")}
    assert content == {"p1": ("YouTube", 40), "p2": ("Instagram", 40)}  # the stale p1 served late lost
    engagement = [(r["creator_id"], r["platform"], r["date"], r["total_likes"]) for r in rows("engagement")]
    assert engagement == [("u1", "Twitter", D1, 45)]


def test_the_job_quarantines_bad_records_with_their_reason(spark, silver_run):
    rows = []
    for name in ("demographics", "competitors", "content", "engagement"):
        frame = read_silver(spark, silver_run, f"_quarantine/{name}")
        assert frame.schema == QUARANTINE_SCHEMA, name  # written even when empty
        rows += [(r["dataset"], r["run_date"], r["record_index"], r["reason"]) for r in frame.collect()]
    assert sorted(rows) == [
        ("content", D2, 3, "completion_rate out of range [0, 100]: 140.0"),
        ("demographics", D2, 1, "age is not an integer: 'n/a'"),
        ("engagement", D2, 1, "payload is not a JSON object"),
    ]
    bad = read_silver(spark, silver_run, "_quarantine/demographics").first()
    assert json.loads(bad["payload"])["user_id"] == "u3"
    assert bad["request_url"] == "http://creator-api/api/demographics?page=1" and bad["page"] == 1


def test_the_job_counts_add_up(silver_run):
    counts = json.loads((silver_run / "silver" / "creator" / "_counts.json").read_text())
    first_run = {"mode": "full", "bronze_version": 1, "bronze_partitions": "all", "updated": 0,
                 "reason": "no silver run recorded yet"}
    assert counts == {
        "demographics": {**first_run, "bronze_rows": 4, "valid_rows": 3, "quarantined_rows": 1, "inserted": 2,
                         "duplicates_dropped": 1, "silver_rows": 2, "reasons": {"age is not an integer": 1}},
        "competitors": {**first_run, "bronze_rows": 4, "valid_rows": 4, "quarantined_rows": 0, "inserted": 2,
                        "duplicates_dropped": 2, "silver_rows": 2, "reasons": {}},
        "content": {**first_run, "bronze_rows": 5, "valid_rows": 4, "quarantined_rows": 1, "inserted": 2,
                    "duplicates_dropped": 2, "silver_rows": 2, "reasons": {"completion_rate out of range [0, 100]": 1}},
        "engagement": {**first_run, "bronze_rows": 3, "valid_rows": 2, "quarantined_rows": 1, "inserted": 1,
                       "duplicates_dropped": 1, "silver_rows": 1, "reasons": {"payload is not a JSON object": 1}},
    }


def test_the_job_fails_clearly_when_an_endpoint_was_never_ingested(spark, tmp_path):
    lake = tmp_path / "lake"
    write_bronze(lake, "demographics", D1, [USER])
    expected = ", ".join(str(lake / "bronze" / "creator" / e) for e in ("competitors", "content", "engagement"))
    with pytest.raises(FileNotFoundError) as failure:
        silver.main(["--lake-root", str(lake), "--run-date", "2026-01-02", "--source", "creator"])
    assert str(failure.value).startswith(f"no bronze data at {expected}: the ingest of these endpoints did not run")
    assert not (lake / "silver").exists()  # nothing was written


def test_the_typed_rows_are_parsed_once_per_payload(spark):
    typed = common.type_payloads(bronze(spark, [(D1, 0, POST)]), CONTENT.payload)
    plan = typed._jdf.queryExecution().optimizedPlan().toString()
    assert plan.count("from_json(") == 1


def test_a_field_whose_type_changed_in_the_api_is_quarantined_with_its_reason_and_silver_goes_on(
        spark, tmp_path, monkeypatch):
    """From the simulator, through the real ingest, into bronze, then the silver job: the API now nests
    ``total_likes`` in an object. Every engagement row is quarantined, saying so; the other datasets are built."""
    from devstack.simulators.creator_api import SimulatorConfig, running_simulator
    from devstack.simulators.faults import FaultConfig
    from devstack.stack import connection_env, http_connection
    from pulse.inputs import RunWindow
    from pulse.sources.creator import CREATOR_API_ENDPOINTS

    faults = FaultConfig(changed_types=frozenset({("engagement", "total_likes")}))
    window = RunWindow(run_date=date(2026, 11, 20), start=date(2026, 11, 17), end=date(2026, 11, 20))
    with running_simulator(SimulatorConfig(seed=5, creators=8, faults=faults)) as base_url:
        conns = connection_env({"creator_api": http_connection(int(base_url.rsplit(":", 1)[1]))})
        for name, value in {**conns, "PULSE_LAKE_ROOT": str(tmp_path)}.items():
            monkeypatch.setenv(name, value)
        ingested = {i.name: i.ingest("creator", window)["records"] for i in CREATOR_API_ENDPOINTS}

    silver.main(["--lake-root", str(tmp_path), "--run-date", "2026-11-20", "--source", "creator"])

    quarantine = spark.read.format("delta").load(str(tmp_path / "silver" / "creator" / "_quarantine" / "engagement"))
    reasons = [r.reason for r in quarantine.select("reason").collect()]
    assert len(reasons) == ingested["engagement"] > 0
    assert all(r.startswith("""total_likes is not an integer: '{"value":""") for r in reasons), set(reasons)
    counts = json.loads((tmp_path / "silver" / "creator" / "_counts.json").read_text())
    assert (counts["engagement"]["quarantined_rows"], counts["engagement"]["silver_rows"]) == (len(reasons), 0)
    assert counts["content"]["quarantined_rows"] == 0 and counts["content"]["silver_rows"] == ingested["content"]
    assert counts["demographics"]["silver_rows"] == ingested["demographics"] > 0
