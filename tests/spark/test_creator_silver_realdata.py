"""Creator silver against the real records of the original API (../shared/realdata/creator).

The seed samples are the original notebook's printed ``show()`` tables: every value arrived as text,
and ``show()`` cut strings longer than 20 characters to 17 + "...". Each record is rebuilt as the JSON the
API sent, typed by the README (ints, floats and booleans as JSON numbers and booleans), and fed through
the silver typing. What to expect was checked by hand against the CSV files:

- demographics: all 5 rows are quarantined, for the cut ``signup_date`` alone;
- content: all 20 rows are quarantined, for the cut ``published_date`` alone (every count, rate and
  revenue passes its rules);
- competitors: all 7 rows are valid; two headquarter locations were cut ("Reneeborough, Ger...") and are
  kept as sent.

With the cut timestamps completed to whole minutes (seconds 00, UTC), every demographics and content
row is valid and types as the hand-checked values below say.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from spark_jobs.common import silver as common
from spark_jobs.creator import silver
from spark_jobs.creator.schemas import COMPETITORS, CONTENT, DEMOGRAPHICS

pytestmark = pytest.mark.spark

# README types of the non-string fields.
INTS = {"age", "founding_year", "commission_percentage", "supported_countries", "likes", "comments", "shares",
        "views", "impressions"}
FLOATS = {"market_share_percentage", "sentiment_score", "app_store_rating", "google_play_rating",
          "average_view_time", "completion_rate", "revenue_generated"}
BOOLS = {"monetization_enabled"}


def as_sent(row: dict[str, str]) -> dict:
    """The record as the API's JSON carried it."""
    def value(name: str, text: str):
        if name in INTS:
            return int(text)
        if name in FLOATS:
            return float(text)
        if name in BOOLS:
            return {"true": True, "false": False}[text]
        return text
    return {name: value(name, text) for name, text in row.items()}


def completed(record: dict, field: str) -> dict:
    """The record with its cut timestamp ("2025-05-22T07:50:...") completed to the minute, in UTC."""
    assert record[field].endswith(":...")
    return {**record, field: record[field].removesuffix(":...") + ":00Z"}


def samples(realdata: Path, name: str) -> list[dict]:
    with (realdata / "creator" / "seed_api_samples" / f"sample_{name}_show.csv").open(newline="") as f:
        return [as_sent(row) for row in csv.DictReader(f)]


def typed_rows(spark, dataset, records: list[dict]):
    rows = [(json.dumps(r), i, 1, f"seed://{dataset.name}", datetime(2025, 5, 22, 8), "creator", dataset.name,
             date(2025, 5, 22)) for i, r in enumerate(records)]
    return common.type_payloads(spark.createDataFrame(rows, common.BRONZE_SCHEMA), dataset.payload)


def utc(*parts: int) -> datetime:
    """The UTC instant as PySpark's collect() gives it back: a naive datetime in the local time zone."""
    return datetime(*parts, tzinfo=UTC).astimezone().replace(tzinfo=None)


def test_real_demographics_are_quarantined_only_for_their_cut_signup_date(spark, realdata):
    records = samples(realdata, "demographics")
    typed = typed_rows(spark, DEMOGRAPHICS, records + [completed(r, "signup_date") for r in records]).cache()
    reasons = [r["reason"] for r in typed.orderBy("record_index").collect()]
    assert reasons == [
        "signup_date is not a timestamp: '2025-04-09T15:24:...'",
        "signup_date is not a timestamp: '2025-02-12T02:55:...'",
        "signup_date is not a timestamp: '2023-11-20T18:49:...'",
        "signup_date is not a timestamp: '2025-01-05T12:20:...'",
        "signup_date is not a timestamp: '2023-11-06T17:22:...'",
    ] + [None] * 5
    kept = {r["user_id"]: tuple(r) for r in silver.silver_rows(common.valid_rows(typed), DEMOGRAPHICS).collect()}
    assert len(kept) == 5
    assert kept["GrpcDwIB4dy4aPz"] == ("GrpcDwIB4dy4aPz", 64, "60s", "Desktop", "Digital Art",
                                       utc(2023, 11, 20, 18, 49), "Inactive", "Free", None)
    assert kept["9nu7dcJjLEdZTYJ"][1:4] == (49, "40s", "Smart TV")


def test_real_competitors_are_all_valid(spark, realdata):
    typed = typed_rows(spark, COMPETITORS, samples(realdata, "competitors")).cache()
    assert [r["reason"] for r in typed.collect()] == [None] * 7
    kept = {r["platform_name"]: tuple(r) for r in silver.silver_rows(common.valid_rows(typed), COMPETITORS).collect()}
    assert sorted(kept) == ["Buy Me a Coffee", "Gumroad", "Kajabi", "Ko-fi", "Patreon", "Podia", "Teachable"]
    assert kept["Buy Me a Coffee"] == ("0nWvqYHpIDoTic5", "Buy Me a Coffee", 2022, "Edwardfort, Germany", "Edwardfort",
                                       "Germany", 0, 173, 3.62, 3.9, 3.8, 3.5)
    assert kept["Patreon"][3:6] == ("Reneeborough, Ger...", "Reneeborough", "Ger...")  # cut by show(), kept
    assert kept["Podia"][3:6] == ("North Ronald, Ger...", "North Ronald", "Ger...")
    assert kept["Kajabi"][2:] == (2014, "Nicholasfurt, USA", "Nicholasfurt", "USA", 0, 70, 27.83, 3.7, 2.6, 3.4)


def test_real_content_is_quarantined_only_for_its_cut_published_date(spark, realdata):
    records = samples(realdata, "content")
    typed = typed_rows(spark, CONTENT, records + [completed(r, "published_date") for r in records]).cache()
    reasons = [r["reason"] for r in typed.orderBy("record_index").collect()]
    cut_at = ["07:50", "07:46", "07:50", "07:46", "07:47", "07:47", "07:50", "07:45", "07:45", "07:50",
              "07:47", "07:49", "07:47", "07:45", "07:48", "07:46", "07:47", "07:50", "07:47", "07:47"]
    assert reasons == [f"published_date is not a timestamp: '2025-05-22T{t}:...'" for t in cut_at] + [None] * 20

    kept = {r["content_id"]: r for r in silver.silver_rows(common.valid_rows(typed), CONTENT).collect()}
    assert len(kept) == 20
    assert tuple(kept["rFXZWFJ6Tj4f1OF"]) == (
        "rFXZWFJ6Tj4f1OF", "FI7oC3BRv0fig3J", "Facebook", "Live Stream", "Distributed 4thge...",
        "Hope outside them...", utc(2025, 5, 22, 7, 47), date(2025, 5, 22), "Thursday", "07:47",
        25325, 1646, 1566, 85296, 176364, 3595.46, 19.54, "Finance", True, 1634.26, None)
    assert {r["published_date"] for r in kept.values()} == {date(2025, 5, 22)}
    assert sum(r["monetization_enabled"] for r in kept.values()) == 12
    assert {r["revenue_generated"] for r in kept.values() if not r["monetization_enabled"]} == {0.0}
    assert {r["platform"] for r in kept.values()} == {"Twitter", "Instagram", "YouTube", "TikTok", "Facebook",
                                                     "LinkedIn"}
