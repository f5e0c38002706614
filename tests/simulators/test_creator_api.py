"""The creator API simulator, over real HTTP: the contract of docs/architecture.md, records shaped like
the original API's (../shared/realdata/creator/README.md), and faults that only ever add noise."""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
import requests

from devstack.simulators.creator_api import SimulatorConfig, running_simulator
from devstack.simulators.faults import FaultConfig

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
START, END = "2026-11-01", "2026-11-15"  # 14 days
SMALL = dict(seed=7, creators=60)

# The README's record shapes, field by field (plus updated_at, the version timestamp).
README_FIELDS = {
    "demographics": {"user_id": "str", "age": "int", "age_group": "str", "device": "str",
                     "creator_segment": "str", "signup_date": "timestamp", "active_status": "str",
                     "subscription_tier": "str"},
    "competitors": {"competitor_id": "str", "platform_name": "str", "founding_year": "int",
                    "headquarter_location": "str", "commission_percentage": "int",
                    "supported_countries": "int", "market_share_percentage": "float",
                    "sentiment_score": "float", "app_store_rating": "float", "google_play_rating": "float"},
    "content": {"content_id": "str", "creator_id": "str", "platform": "str", "content_type": "str",
                "title": "str", "description": "str", "published_date": "timestamp", "day_of_week": "str",
                "time_of_day": "str", "likes": "int", "comments": "int", "shares": "int", "views": "int",
                "impressions": "int", "average_view_time": "float", "completion_rate": "float",
                "creator_segment": "str", "monetization_enabled": "bool", "revenue_generated": "float"},
    "engagement": {"creator_id": "str", "platform": "str", "date": "date", "total_likes": "int",
                   "total_comments": "int", "total_shares": "int", "average_view_duration": "float",
                   "impressions": "int", "reach": "int", "click_through_rate": "float"},
}
VERSIONED = ("demographics", "content", "engagement")
KEYS = {"demographics": ("user_id",), "competitors": ("competitor_id",), "content": ("content_id",),
        "engagement": ("creator_id", "platform", "date")}
PLATFORMS = {"Twitter", "Instagram", "YouTube", "TikTok", "Facebook", "LinkedIn"}


def fields_of(resource: str) -> dict[str, str]:
    extra = {"updated_at": "timestamp"} if resource in VERSIONED else {}
    return {**README_FIELDS[resource], **extra}


def readable(record: object, resource: str) -> bool:
    """What a silver layer's type check accepts: every field present and readable as its type."""
    if not isinstance(record, dict) or set(record) != set(fields_of(resource)):
        return False
    for name, kind in fields_of(resource).items():
        value = record[name]
        try:
            if kind == "int":
                ok = isinstance(value, int) and not isinstance(value, bool)
            elif kind == "float":
                ok = isinstance(value, int | float) and not isinstance(value, bool)
            elif kind == "bool":
                ok = isinstance(value, bool)
            elif kind == "date":
                ok = isinstance(value, str) and len(value) == 10 and bool(date.fromisoformat(value))
            elif kind == "timestamp":
                ok = isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
            else:
                ok = isinstance(value, str) and value != ""
        except ValueError:
            ok = False
        if not ok:
            return False
    return True


def key_of(record: dict, resource: str) -> tuple:
    return tuple(record[k] for k in KEYS[resource])


def get(base_url: str, path: str, session: requests.Session | None = None, **params) -> requests.Response:
    return (session or requests).get(f"{base_url}{path}", params=params or None, timeout=30)


def fetch_all(base_url: str, resource: str, start: str | None = START, end: str | None = END,
              limit: int = 1000, session: requests.Session | None = None) -> list[dict]:
    """Every record of a window, following links.next; checks the pages add up to meta.total_records."""
    session = session or requests.Session()
    params = {"limit": limit, **({"start_date": start, "end_date": end} if start else {})}
    url, records, pages = f"{base_url}/api/{resource}", [], 0
    while url:
        answer = session.get(url, params=params, timeout=60)
        assert answer.status_code == 200, answer.text[:300]
        body = answer.json()
        records += body["data"]
        pages += 1
        nxt = body["links"]["next"]
        url, params = (f"{base_url}{nxt}" if nxt else None), None
    assert len(records) == body["meta"]["total_records"]
    assert pages == max(1, body["meta"]["total_pages"])
    return records


@pytest.fixture(scope="module")
def small():
    with running_simulator(SimulatorConfig(**SMALL)) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def small_data(small) -> dict[str, list[dict]]:
    return {resource: fetch_all(small, resource) for resource in README_FIELDS}


# --- the contract ---------------------------------------------------------------------------------

def test_health_answers_ok(small):
    answer = get(small, "/api/health")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_the_same_seed_serves_byte_identical_pages_from_two_servers_and_another_seed_does_not(small):
    with running_simulator(SimulatorConfig(**SMALL)) as twin, \
            running_simulator(SimulatorConfig(seed=8, creators=60)) as other:
        for resource in README_FIELDS:
            for page in (1, 2):
                params = dict(start_date=START, end_date=END, limit=300, page=page)
                ours = get(small, f"/api/{resource}", **params).content
                assert get(twin, f"/api/{resource}", **params).content == ours, (resource, page)
        engagement = dict(start_date=START, end_date=END, limit=50)
        ours = get(small, "/api/engagement", **engagement).content
        assert get(other, "/api/engagement", **engagement).content != ours


def test_paging_returns_every_record_exactly_once_and_next_links_keep_the_window(small, small_data):
    session = requests.Session()
    first = get(small, "/api/engagement", session, start_date=START, end_date=END, limit=100).json()
    assert first["meta"] == {"page": 1, "limit": 100, "total_records": len(small_data["engagement"]),
                             "total_pages": -(-len(small_data["engagement"]) // 100)}
    assert first["links"]["next"] == f"/api/engagement?start_date={START}&end_date={END}&page=2&limit=100"
    paged = fetch_all(small, "engagement", limit=100, session=session)
    keys = [key_of(r, "engagement") for r in paged]
    assert len(set(keys)) == len(keys) and paged == small_data["engagement"]


def test_a_page_past_the_end_is_empty_and_has_no_next_link(small, small_data):
    total_pages = -(-len(small_data["content"]) // 100)
    last = get(small, "/api/content", start_date=START, end_date=END, limit=100, page=total_pages).json()
    assert last["data"] and last["links"]["next"] is None
    past = get(small, "/api/content", start_date=START, end_date=END, limit=100, page=total_pages + 1)
    assert past.status_code == 200
    assert past.json()["data"] == [] and past.json()["links"]["next"] is None


def test_limit_defaults_to_500(small):
    body = get(small, "/api/engagement", start_date=START, end_date=END).json()
    assert body["meta"]["limit"] == 500 and len(body["data"]) == 500


def test_records_carry_exactly_the_readme_fields_with_their_types(small_data):
    for resource, records in small_data.items():
        assert records, resource
        for record in records:
            assert list(record) == list(fields_of(resource)), resource
            assert readable(record, resource), (resource, record)


def test_engagement_has_one_record_per_creator_active_platform_and_day_from_signup(small_data):
    signup = {c["user_id"]: c["signup_date"][:10] for c in small_data["demographics"]}
    platforms = defaultdict(set)
    per_creator_day = Counter()
    for r in small_data["engagement"]:
        assert START <= r["date"] < END and r["date"] >= signup[r["creator_id"]]
        platforms[r["creator_id"]].add(r["platform"])
        per_creator_day[r["creator_id"], r["date"]] += 1
    assert set().union(*platforms.values()) == PLATFORMS
    assert all(1 <= len(p) <= 3 for p in platforms.values())
    days = [(date.fromisoformat(START) + timedelta(d)).isoformat() for d in range(14)]
    for creator, active in platforms.items():
        expected = {d: len(active) for d in days if d >= signup[creator]}
        assert {d: per_creator_day[creator, d] for d in expected} == expected
    assert len(small_data["engagement"]) == sum(per_creator_day.values())


def test_every_post_joins_an_engagement_record_and_every_creator_is_in_demographics(small_data):
    engagement = {key_of(r, "engagement") for r in small_data["engagement"]}
    creators = {c["user_id"]: c for c in small_data["demographics"]}
    assert len(creators) == SMALL["creators"]  # all signed up before 2025-07
    for post in small_data["content"]:
        assert (post["creator_id"], post["platform"], post["published_date"][:10]) in engagement
        assert post["creator_segment"] == creators[post["creator_id"]]["creator_segment"]
    assert {r["creator_id"] for r in small_data["engagement"]} <= set(creators)
    assert len({p["content_id"] for p in small_data["content"]}) == len(small_data["content"])


def test_a_record_is_the_same_in_every_window_that_holds_it(small, small_data):
    day = "2026-11-07"
    one_day = fetch_all(small, "engagement", day, "2026-11-08")
    assert one_day == [r for r in small_data["engagement"] if r["date"] == day]
    posts = fetch_all(small, "content", "2026-11-05", "2026-11-09")
    assert posts == [p for p in small_data["content"]
                     if "2026-11-05" <= p["published_date"][:10] < "2026-11-09"]


def test_demographics_are_the_creators_who_signed_up_before_the_end_date(small, small_data):
    signups = sorted(c["signup_date"] for c in small_data["demographics"])
    cut = signups[len(signups) // 2][:10]
    early = fetch_all(small, "demographics", "2020-01-01", cut)
    assert early and all(c["signup_date"] < cut for c in early)
    assert len(early) == sum(s < cut for s in signups)


def test_competitors_are_the_seven_platforms_whatever_the_window(small):
    expected = {"Patreon", "Ko-fi", "Gumroad", "Buy Me a Coffee", "Teachable", "Podia", "Kajabi"}
    for params in ({}, {"days": 90}, {"start_date": "2020-01-01", "end_date": "2020-01-02"}):
        records = get(small, "/api/competitors", **params).json()["data"]
        assert {r["platform_name"] for r in records} == expected and len(records) == 7
        for r in records:
            city, country = r["headquarter_location"].split(", ")
            assert city and country and "..." not in country


def test_the_days_form_is_the_window_ending_today(small):
    body = get(small, "/api/engagement", days=3, limit=100).json()
    today = datetime.now(UTC).date()
    records = fetch_all(small, "engagement", (today - timedelta(3)).isoformat(), today.isoformat())
    assert body["data"] == records[:100]
    assert {r["date"] for r in records} == {(today - timedelta(d)).isoformat() for d in (1, 2, 3)}
    nxt = body["links"]["next"]
    assert f"start_date={today - timedelta(3)}" in nxt and f"end_date={today}" in nxt and "days" not in nxt


def test_history_days_limit_engagement_and_content_to_the_days_before_as_of():
    config = SimulatorConfig(seed=7, creators=20, history_days=5, as_of=date(2026, 11, 10))
    with running_simulator(config) as base_url:
        engagement = fetch_all(base_url, "engagement")
        content = fetch_all(base_url, "content")
        assert len(fetch_all(base_url, "demographics")) == 20
    assert {r["date"] for r in engagement} == {f"2026-11-{d:02d}" for d in range(5, 10)}
    assert {p["published_date"][:10] for p in content} <= {f"2026-11-{d:02d}" for d in range(5, 10)}


@pytest.mark.parametrize("params", [
    {"start_date": "2026-13-01", "end_date": END},
    {"start_date": "20261101", "end_date": END},
    {"start_date": END, "end_date": START},
    {"start_date": START},
    {},
    {"start_date": START, "end_date": END, "days": 3},
    {"days": "x"},
    {"days": 0},
    {"start_date": START, "end_date": END, "limit": 1001},
    {"start_date": START, "end_date": END, "limit": 0},
    {"start_date": START, "end_date": END, "page": 0},
    {"start_date": START, "end_date": END, "page": "two"},
], ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "no-window")
def test_bad_parameters_answer_400_with_the_error_body(small, params):
    answer = get(small, "/api/engagement", **params)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert set(error) == {"status", "message"} and error["status"] == 400 and error["message"]


@pytest.mark.parametrize("path", ["/api/followers", "/api/engagement/extra", "/v1/engagement"])
def test_unknown_resources_and_paths_answer_404_with_the_error_body(small, path):
    answer = get(small, path, start_date=START, end_date=END)
    assert answer.status_code == 404
    assert answer.json()["error"]["status"] == 404 and answer.json()["error"]["message"]


# --- magnitudes -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def month_at_300_creators():
    with running_simulator(SimulatorConfig(seed=42, creators=300)) as base_url:
        yield {resource: fetch_all(base_url, resource, "2026-10-01", "2026-10-31")
               for resource in ("demographics", "engagement", "content")}


def test_engagement_magnitudes_match_the_original_dashboard(month_at_300_creators):
    rows = month_at_300_creators["engagement"]
    rates = [(r["total_likes"] + r["total_comments"] + r["total_shares"]) / r["impressions"] for r in rows]
    assert 0.08 <= statistics.mean(rates) <= 0.16 and max(rates) <= 1
    reach = [r["reach"] for r in rows]
    assert 5_000 <= statistics.median(reach) <= 12_000
    assert 0.15 <= sum(x >= 25_000 for x in reach) / len(reach) <= 0.25
    assert 0.02 <= sum(x >= 100_000 for x in reach) / len(reach) <= 0.06
    assert all(r["reach"] <= r["impressions"] <= r["reach"] * 1.6 + 1 for r in rows)
    assert statistics.mean(r["impressions"] / r["reach"] for r in rows) == pytest.approx(1.35, abs=0.05)
    assert all(0 <= r["click_through_rate"] <= 0.15 for r in rows)
    assert 40 <= statistics.mean(r["average_view_duration"] for r in rows) <= 56
    per_platform = Counter(r["platform"] for r in rows)
    assert set(per_platform) == PLATFORMS and max(per_platform.values()) < 1.5 * min(per_platform.values())


def test_content_magnitudes_and_consistency(month_at_300_creators):
    posts = month_at_300_creators["content"]
    triples = len(month_at_300_creators["engagement"])
    assert 0.28 <= len(posts) / triples <= 0.42  # posts_per_day 0.35
    for p in posts:
        assert 0 <= p["likes"] <= p["views"] <= p["impressions"]
        assert 0 <= p["completion_rate"] <= 100 and round(p["completion_rate"], 2) == p["completion_rate"]
        assert round(p["revenue_generated"], 2) == p["revenue_generated"] >= 0
        assert p["monetization_enabled"] or p["revenue_generated"] == 0.0
        published = datetime.fromisoformat(p["published_date"])
        assert (published.strftime("%A"), published.strftime("%H:%M")) == (p["day_of_week"], p["time_of_day"])
        assert p["updated_at"] > p["published_date"]
        assert p["title"] and p["description"].endswith(".")
    assert 0.49 <= statistics.mean(p["monetization_enabled"] for p in posts) <= 0.59
    content_types = {"Image", "Story", "Carousel", "Audio", "Text", "Live Stream", "Video"}
    assert {p["content_type"] for p in posts} == content_types


def test_creators_are_spread_over_tiers_and_skewed_young(month_at_300_creators):
    creators = month_at_300_creators["demographics"]
    tiers = Counter(c["subscription_tier"] for c in creators)
    assert set(tiers) == {"Free", "Basic", "Premium", "Enterprise"}
    assert min(tiers.values()) >= 0.17 * len(creators)
    ages = Counter(c["age_group"] for c in creators)
    assert ages.most_common(1)[0][0] == "20s" and ages["20s"] > ages["30s"] > ages["60s"]
    for c in creators:
        assert c["age_group"] == f"{c['age'] // 10 * 10}s"
        assert "2023-01-01" <= c["signup_date"] < "2025-07-01"
        assert len(c["user_id"]) == 15 and c["user_id"].isalnum()
    assert len({c["user_id"] for c in creators}) == len(creators)


def test_1000_creators_over_90_days_serve_every_page_quickly_with_revenue_near_0_9_million():
    with running_simulator(SimulatorConfig(seed=42, creators=1000)) as base_url:
        started = time.perf_counter()
        engagement = fetch_all(base_url, "engagement", "2026-08-23", "2026-11-21")
        engagement_seconds = time.perf_counter() - started
        started = time.perf_counter()
        content = fetch_all(base_url, "content", "2026-08-23", "2026-11-21")
        content_seconds = time.perf_counter() - started
    print(f"\n1,000 creators x 90 days: {len(engagement):,} engagement records in {engagement_seconds:.1f}s, "
          f"{len(content):,} posts in {content_seconds:.1f}s (generation, serving and client parsing)")
    assert 160_000 <= len(engagement) <= 200_000
    assert 500_000 <= sum(p["revenue_generated"] for p in content) <= 1_500_000
    assert engagement_seconds < 30 and content_seconds < 30  # a few seconds on an idle machine


# --- request-level faults -------------------------------------------------------------------------

def statuses(base_url: str, n: int, path: str = "/api/competitors") -> list[requests.Response]:
    session = requests.Session()
    return [session.get(f"{base_url}{path}", timeout=30) for _ in range(n)]


def is_json(answer: requests.Response) -> bool:
    try:
        answer.json()
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("faults, fired", [
    (FaultConfig(fail_rate=0.2), lambda a: a.status_code == 502),
    (FaultConfig(rate_limit_rate=0.2, rate_limit_burst=1), lambda a: a.status_code == 429),
    (FaultConfig(bad_page_rate=0.2), lambda a: a.status_code == 200 and not is_json(a)),
], ids=["fail_rate", "rate_limit_rate", "bad_page_rate"])
def test_each_request_fault_fires_near_its_rate(faults, fired):
    with running_simulator(SimulatorConfig(seed=3, creators=5, faults=faults)) as base_url:
        answers = statuses(base_url, 400)
    share = sum(map(fired, answers)) / len(answers)
    assert 0.14 <= share <= 0.26, share
    assert all(fired(a) or (a.status_code == 200 and is_json(a)) for a in answers)


def test_slow_answers_fire_near_their_rate_and_take_slow_seconds(caplog):
    caplog.set_level(logging.INFO, logger="devstack.simulators.creator_api")
    faults = FaultConfig(slow_rate=0.2, slow_seconds=0.05)
    with running_simulator(SimulatorConfig(seed=3, creators=5, faults=faults)) as base_url:
        answers = statuses(base_url, 200)
    logged = [line for line in caplog.text.splitlines() if '"GET /api/competitors"' in line]
    slow = [answer for answer, line in zip(answers, logged, strict=True) if "slow 0.05s (slow_rate)" in line]
    assert 0.13 <= len(slow) / len(answers) <= 0.27
    assert all(a.elapsed.total_seconds() >= 0.05 and a.status_code == 200 for a in slow)


def test_a_rate_limit_burst_answers_429_with_retry_after_and_the_error_body():
    faults = FaultConfig(rate_limit_rate=0.1, rate_limit_burst=3, rate_limit_retry_after=7)
    with running_simulator(SimulatorConfig(seed=3, creators=5, faults=faults)) as base_url:
        answers = statuses(base_url, 300)
    limited = [a for a in answers if a.status_code == 429]
    assert limited and all(a.headers["Retry-After"] == "7" for a in limited)
    assert limited[0].json() == {"error": {"status": 429, "message": limited[0].json()["error"]["message"]}}
    runs = "".join("x" if a.status_code == 429 else "." for a in answers).split(".")
    assert all(len(run) % 3 == 0 for run in runs[:-1])  # bursts of 3, back to back; the last may be cut


def test_request_faults_never_change_what_a_page_holds(small_data):
    faults = FaultConfig(fail_rate=0.3, bad_page_rate=0.3, rate_limit_rate=0.1, rate_limit_retry_after=0,
                         slow_rate=0.1, slow_seconds=0.01)
    session = requests.Session()
    with running_simulator(SimulatorConfig(**SMALL, faults=faults)) as base_url:
        records, page, tries = [], 1, 0
        while True:
            answer = get(base_url, "/api/engagement", session, start_date=START, end_date=END, limit=200,
                         page=page)
            tries += 1
            if answer.status_code != 200 or not is_json(answer):
                continue
            records += answer.json()["data"]
            if answer.json()["links"]["next"] is None:
                break
            page += 1
    assert tries > page and records == small_data["engagement"]


def test_a_broken_page_always_answers_502_and_the_other_pages_do_not():
    faults = FaultConfig(broken_pages=frozenset({("engagement", 2)}))
    with running_simulator(SimulatorConfig(**SMALL, faults=faults)) as base_url:
        for _ in range(5):
            broken = get(base_url, "/api/engagement", start_date=START, end_date=END, page=2)
            assert broken.status_code == 502
            assert broken.json()["error"]["status"] == 502
        assert get(base_url, "/api/engagement", start_date=START, end_date=END, page=1).status_code == 200
        assert get(base_url, "/api/engagement", start_date=START, end_date=END, page=3).status_code == 200
        assert get(base_url, "/api/content", start_date=START, end_date=END, page=2).status_code == 200


def test_an_api_that_is_down_answers_503_everywhere_including_health():
    with running_simulator(SimulatorConfig(**SMALL, faults=FaultConfig(down=True))) as base_url:
        for path in ("/api/health", "/api/engagement", "/api/nothing"):
            answer = get(base_url, path, start_date=START, end_date=END)
            assert answer.status_code == 503
            assert answer.json()["error"]["status"] == 503


def test_health_is_spared_every_fault_but_down():
    faults = FaultConfig(fail_rate=1.0, bad_page_rate=1.0, broken_pages=frozenset({("health", 1)}))
    with running_simulator(SimulatorConfig(**SMALL, faults=faults)) as base_url:
        answers = statuses(base_url, 20, "/api/health")
        assert all(a.status_code == 200 and a.json() == {"status": "ok"} for a in answers)
        assert get(base_url, "/api/competitors").status_code == 502


# --- record-level noise ---------------------------------------------------------------------------

ALL_RECORD_NOISE = FaultConfig(malformed_rate=0.2, duplicate_rate=0.2, late_update_rate=0.2)


@pytest.fixture(scope="module")
def noisy_data():
    with running_simulator(SimulatorConfig(**SMALL, faults=ALL_RECORD_NOISE)) as base_url:
        yield base_url, {resource: fetch_all(base_url, resource) for resource in README_FIELDS}


def latest_valid_versions(records: list[dict], resource: str) -> dict[tuple, dict]:
    """What a correct silver layer keeps: readable records only, the latest version per key."""
    latest: dict[tuple, dict] = {}
    for record in filter(lambda r: readable(r, resource), records):
        key = key_of(record, resource)
        kept = latest.get(key)
        if kept is None or record.get("updated_at", "") > kept.get("updated_at", ""):
            latest[key] = record
        elif record.get("updated_at", "") == kept.get("updated_at", ""):
            assert record == kept, f"two different {resource} records share a key and a version: {key}"
    return latest


def test_with_every_record_fault_on_the_latest_valid_versions_equal_the_fault_free_data(
        small_data, noisy_data):
    _, noisy = noisy_data
    for resource, clean in small_data.items():
        assert len(noisy[resource]) > len(clean), resource
        kept = latest_valid_versions(noisy[resource], resource)
        assert kept == {key_of(r, resource): r for r in clean}, resource


@pytest.mark.parametrize("knob", ["malformed_rate", "duplicate_rate", "late_update_rate"])
def test_each_record_fault_adds_extras_near_its_rate_and_nothing_else(small_data, knob):
    with running_simulator(SimulatorConfig(**SMALL, faults=FaultConfig(**{knob: 0.2}))) as base_url:
        for resource in ("engagement", "content", "demographics"):
            clean, noisy = small_data[resource], fetch_all(base_url, resource)
            extras = Counter(json.dumps(r, sort_keys=True) for r in noisy)
            extras.subtract(Counter(json.dumps(r, sort_keys=True) for r in clean))
            assert min(extras.values()) >= 0, "a true record went missing"
            added = list(extras.elements())
            tolerance = 0.05 if len(clean) > 500 else 0.1
            assert abs(len(added) / len(clean) - 0.2) <= tolerance, (resource, knob)
            copies = [json.loads(text) for text in added]
            if knob == "malformed_rate":
                assert not any(readable(r, resource) for r in copies)
            elif knob == "duplicate_rate":
                assert all(r in clean for r in copies)
            else:
                current = {key_of(r, resource): r for r in clean}
                assert all(readable(r, resource) for r in copies)
                assert all(r["updated_at"] < current[key_of(r, resource)]["updated_at"] for r in copies)


def test_malformed_records_break_a_field_in_each_way_a_type_check_sees(small_data):
    with running_simulator(SimulatorConfig(**SMALL, faults=FaultConfig(malformed_rate=1.0))) as base_url:
        noisy = fetch_all(base_url, "content")
    bad = [r for r in noisy if not readable(r, "content")]
    assert len(bad) == len(small_data["content"])
    removed = [r for r in bad if set(r) != set(fields_of("content"))]
    unreadable = [r for r in bad if set(r) == set(fields_of("content"))]
    assert removed and unreadable
    values = Counter()
    for r in unreadable:
        for name, kind in fields_of("content").items():
            if not readable({**small_data["content"][0], name: r[name]}, "content"):
                assert kind != "str", f"{name}: a string field got a wrong value instead of being removed"
                values[type(r[name]).__name__ if not isinstance(r[name], str) else repr(r[name])] += 1
    assert values["dict"] and values["''"] and values["'n/a'"]


def test_stale_versions_come_before_the_current_one(noisy_data):
    _, noisy = noisy_data
    for resource in VERSIONED:
        seen: dict[tuple, str] = {}
        newer_after_older = 0
        for record in filter(lambda r: readable(r, resource), noisy[resource]):
            key = key_of(record, resource)
            if key in seen:
                assert record["updated_at"] >= seen[key], f"{resource} {key}: an older version came later"
                newer_after_older += record["updated_at"] > seen[key]
            seen[key] = record["updated_at"]
        assert newer_after_older, resource


def test_competitors_get_malformed_and_duplicate_records_but_no_late_updates(small_data):
    faults = FaultConfig(malformed_rate=1.0, duplicate_rate=1.0, late_update_rate=1.0)
    with running_simulator(SimulatorConfig(**SMALL, faults=faults)) as base_url:
        noisy = fetch_all(base_url, "competitors")
    valid = [r for r in noisy if readable(r, "competitors")]
    assert len(noisy) == 3 * 7 and valid == [r for r in small_data["competitors"] for _ in (1, 2)]


def test_a_retried_page_holds_the_same_noisy_records(noisy_data):
    base_url, _ = noisy_data
    params = dict(start_date=START, end_date=END, limit=200, page=3)
    first = get(base_url, "/api/content", **params).content
    with running_simulator(SimulatorConfig(**SMALL, faults=ALL_RECORD_NOISE)) as other:
        assert get(other, "/api/content", **params).content == first
    assert get(base_url, "/api/content", **params).content == first


# --- the log and the command line -----------------------------------------------------------------

def test_every_fault_that_fires_is_in_the_log(caplog):
    caplog.set_level(logging.INFO, logger="devstack.simulators.creator_api")
    faults = FaultConfig(fail_rate=0.2, rate_limit_rate=0.1, slow_rate=0.1, slow_seconds=0.01,
                         bad_page_rate=0.2, malformed_rate=0.2, duplicate_rate=0.2, late_update_rate=0.2,
                         broken_pages=frozenset({("content", 2)}))
    with running_simulator(SimulatorConfig(**SMALL, faults=faults)) as base_url:
        session = requests.Session()
        for _ in range(60):
            get(base_url, "/api/engagement", session, start_date=START, end_date=END, limit=1000)
        get(base_url, "/api/content", session, start_date=START, end_date=END, page=2)
    text = caplog.text
    for sign in ("502 (fail_rate)", "429 (rate_limit_rate", "Retry-After 1", "slow 0.01s (slow_rate)",
                 "truncated body (bad_page_rate)", "cut to", "502 (broken page content 2)", "malformed",
                 "duplicate", "stale"):
        assert sign in text, sign
    assert "generated engagement 2026-11-01..2026-11-15:" in text
    assert sum('"GET /api/engagement?' in line for line in text.splitlines()) == 60


def test_the_command_line_serves_until_sigterm_and_logs_one_line_per_request(simulator_command):
    args = ["--seed", "42", "--creators", "30", "--broken-page", "engagement:2", "--malformed-rate", "0.1"]
    with simulator_command("devstack.simulators.creator_api", args, "api/health") as served:
        base_url = served.base_url
        assert get(base_url, "/api/engagement", start_date=START, end_date=END, limit=100).status_code == 200
        broken = get(base_url, "/api/engagement", start_date=START, end_date=END, limit=100, page=2)
        assert broken.status_code == 502
    output = served.output
    assert served.returncode == 0, output
    assert f"listening on {base_url}" in output
    assert '"GET /api/health" 200' in output
    assert '&page=2" 502' in output and "malformed" in output


def test_the_command_line_refuses_a_history_without_its_end():
    env = {**os.environ, "PYTHONPATH": os.path.join(REPO, "include")}
    done = subprocess.run([sys.executable, "-m", "devstack.simulators.creator_api", "--history-days", "30"],
                          capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 2 and "history_days and as_of go together" in done.stderr


def test_a_changed_type_nests_the_field_in_every_record_of_that_resource_only(small_data):
    faults = FaultConfig(changed_types=frozenset({("engagement", "total_likes")}), duplicate_rate=0.5)
    with running_simulator(SimulatorConfig(**SMALL, faults=faults)) as base_url:
        engagement = fetch_all(base_url, "engagement")
        content = fetch_all(base_url, "content")
    true = {key_of(r, "engagement"): r for r in small_data["engagement"]}
    assert len(engagement) > len(true)  # the duplicates come too, changed the same way
    for record in engagement:
        original = true[key_of(record, "engagement")]
        assert record == {**original, "total_likes": {"value": original["total_likes"]}}
    # Content keeps its types (its duplicates come as they always do).
    assert {json.dumps(r, sort_keys=True) for r in content} == {
        json.dumps(r, sort_keys=True) for r in small_data["content"]}


def test_the_command_line_takes_a_changed_type_and_refuses_an_unknown_resource():
    from devstack.simulators.creator_api import parse_args

    _, config = parse_args(["--changed-type", "engagement:total_likes"])
    assert config.faults.changed_types == {("engagement", "total_likes")}
    with pytest.raises(SystemExit):
        parse_args(["--changed-type", "nothing:total_likes"])
