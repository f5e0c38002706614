"""The YouTube Data API crawl (pulse.youtube_ingest) against the real YouTube simulator, served from a thread on
the real datasets (../shared/realdata/creator/datasets): every channel's videos land in bronze with the day's
counters of the real CSV, quota units are counted as the API charges them, a quota stop keeps what was fetched
and the next day finishes the cycle without fetching it again, a refused key fails at once, faults are retried,
and the key reaches no log and nothing in the lake."""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests

from devstack.simulators.faults import FaultConfig, request_fault_mix
from devstack.simulators.youtube_api import (
    GLOBAL_FILE,
    TRENDING_FILE,
    SimulatorConfig,
    YouTubeApiSimulator,
    YouTubeData,
    channel_id_of,
)
from pulse.http_ingest import IngestError, RetryPolicy
from pulse.lake import bronze_partition_path, read_bronze, read_manifest
from pulse.youtube_ingest import (
    DATASETS,
    KeyRefused,
    YouTubeSettings,
    crawl,
    crawl_summary_lines,
    parse_channel_ids,
    read_states,
)
from tests.builders.trending_csv import last_trending_days

DAY = date(2026, 12, 4)
KEY = "AIzaSy-pulse-test-key-7d1e0c"
FAST = RetryPolicy(attempts=6, initial_wait=0.01, max_wait=0.05, timeout=10, budget=float("inf"))
OURS = ("CollegeHumor", "Cracked")
COMPETITORS = ("The Tonight Show Starring Jimmy Fallon", "Jimmy Kimmel Live", "Late Night with Seth Meyers",
               "Good Mythical Morning", "jacksfilms", "Team Coco")
TOP_2023 = "Dude Perfect"  # a channel of the 2023 dataset: statistics, no videos in the data


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def datasets(realdata) -> Path:
    return realdata / "creator" / "datasets"


@pytest.fixture(scope="module")
def data(datasets) -> YouTubeData:
    return YouTubeData(datasets)


@pytest.fixture(scope="module")
def csv_videos(datasets) -> dict[str, dict[str, tuple[int, int, int]]]:
    """The real CSV's videos of the channels the tests crawl (tests/builders/trending_csv.py): channel title →
    video id → (views, likes, comments) of the video's last trending day."""
    by_channel: dict[str, dict[str, tuple[int, int, int]]] = defaultdict(dict)
    for video_id, video in last_trending_days(datasets / "youtube_trending_US_2017.csv", (*OURS, *COMPETITORS)).items():
        by_channel[video.channel_title][video_id] = video.counters
    return by_channel


def channel_ids(*titles: str) -> tuple[str, ...]:
    return tuple(channel_id_of(TRENDING_FILE, t) for t in titles)


def settings(page_size: int = 50, key: str = KEY, policy: RetryPolicy = FAST) -> YouTubeSettings:
    return YouTubeSettings(api_key=key, channel_ids=channel_ids(*OURS),
                           competitor_channel_ids=(*channel_ids(*COMPETITORS), channel_id_of(GLOBAL_FILE, TOP_2023)),
                           policy=policy, page_size=page_size)


@contextmanager
def simulator(data: YouTubeData, clock: Clock | None = None, **config):
    """The simulator on the shared data, as of DAY, from a thread; yields (simulator, base URL, requests seen)."""
    sim = YouTubeApiSimulator(SimulatorConfig(as_of=DAY, api_key=KEY, **config),
                              clock or Clock(datetime(2026, 12, 4, 12, tzinfo=UTC)), data)
    with sim.serving() as base_url:
        yield sim, base_url


class Recorder(requests.Session):
    """A session that remembers the path and query of every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def send(self, request, **kwargs):
        self.sent.append(request.path_url)
        return super().send(request, **kwargs)


def payloads(lake: Path, dataset: str, run_date: date = DAY) -> list[dict]:
    part = bronze_partition_path(lake, "creator", dataset, run_date)
    return [json.loads(p) for p in read_bronze(part, columns=["payload"]).column("payload").to_pylist()]


def expected_calls(data: YouTubeData, page_size: int) -> int:
    """Units of a whole crawl, from the simulator's data: one channels.list, and per channel with videos one
    playlistItems.list and one videos.list per page (a channel without videos: one empty page)."""
    ids = settings().all_channel_ids
    units = math.ceil(len(ids) / 50)
    for channel_id in ids:
        videos = len(data.channels[channel_id].video_ids)
        pages = math.ceil(videos / page_size)
        units += max(pages, 1) + pages
    return units


def test_a_full_crawl_lands_every_channels_videos_with_the_days_counters_of_the_real_csv(data, csv_videos, tmp_path):
    with simulator(data) as (sim, base_url):
        result = crawl(requests.Session(), base_url, settings(), DAY, tmp_path)
    expected = {v: c for title in (*OURS, *COMPETITORS) for v, c in csv_videos[title].items()}
    assert len(expected) == 95 and not result["partial"] and result["channels_left"] == 0
    videos = payloads(tmp_path, "youtube_videos")
    assert {v["id"]: (int(v["statistics"]["viewCount"]), int(v["statistics"]["likeCount"]),
                      int(v["statistics"]["commentCount"])) for v in videos} == expected
    assert len(videos) == len(expected), "each video once"
    by_channel = defaultdict(set)
    for v in videos:
        by_channel[v["snippet"]["channelTitle"]].add(v["id"])
    titles = (*OURS, *COMPETITORS)
    assert {t: len(by_channel[t]) for t in titles} == {t: len(csv_videos[t]) for t in titles}
    items = payloads(tmp_path, "youtube_playlist_items")
    assert sorted(i["contentDetails"]["videoId"] for i in items) == sorted(expected)
    channels = payloads(tmp_path, "youtube_channels")
    assert {c["id"] for c in channels} == set(settings().all_channel_ids)
    assert (result["youtube_channels"], result["youtube_playlist_items"], result["youtube_videos"]) == (9, 95, 95)
    manifest = read_manifest(bronze_partition_path(tmp_path, "creator", "youtube_videos", DAY))
    assert manifest["partial"] is False and manifest["quota_units"]["videos.list"] == 8
    [state] = read_states(tmp_path)
    assert state.complete and state.run_date == DAY and len(state.channels_done) == 9


def test_quota_units_are_counted_per_call_as_the_api_charges_them_and_logged(data, tmp_path, caplog, capfd):
    caplog.set_level(logging.INFO, logger="pulse.youtube_ingest")
    with simulator(data) as (sim, base_url):
        session = Recorder()
        result = crawl(session, base_url, settings(page_size=5), DAY, tmp_path)
        charged = sim.quota_used(DAY)
    # 1 channels.list + 24 uploads pages + 23 videos.list (Dude Perfect's empty page has no videos to ask for)
    assert result["quota_units"] == expected_calls(data, 5) == charged == len(session.sent) == 48
    assert result["quota_units_today"] == 48
    [state] = read_states(tmp_path)
    assert state.units_by_method == {"channels.list": 1, "playlistItems.list": 24, "videos.list": 23}
    logged = caplog.text + "".join(capfd.readouterr())  # once Airflow configured logging, it writes to stdout
    assert "48 quota units (channels.list 1, playlistItems.list 24, videos.list 23)" in logged
    assert "has used 48 of 10000 units" in logged


def test_uploads_are_paged_by_next_page_token_to_the_last_page(data, csv_videos, tmp_path):
    with simulator(data) as (sim, base_url):
        session = Recorder()
        crawl(session, base_url, settings(page_size=5), DAY, tmp_path)
    fallon = "UU" + channel_ids(COMPETITORS[0])[0][2:]
    pages = [p for p in session.sent if "playlistItems" in p and fallon in p]
    assert len(pages) == math.ceil(len(csv_videos[COMPETITORS[0]]) / 5) == 5
    assert "pageToken" not in pages[0] and all("pageToken=" in p for p in pages[1:])
    assert len({p.split("pageToken=")[-1] for p in pages[1:]}) == 4, "a new token each page"
    items = [i for i in payloads(tmp_path, "youtube_playlist_items") if i["snippet"]["playlistId"] == fallon]
    assert sorted(i["snippet"]["position"] for i in items) == list(range(21))


# 1 channels.list, then uploads page and its videos in turn: an even quota stops at a videos.list (the page's
# videos are left for the next day), an odd one at an uploads page.
@pytest.mark.parametrize("quota", [30, 31], ids=["stopped-at-a-page's-videos", "stopped-at-an-uploads-page"])
def test_a_quota_stop_keeps_what_was_fetched_and_the_next_day_finishes_the_cycle_without_fetching_it_again(
        data, csv_videos, tmp_path, caplog, capfd, quota):
    clock = Clock(datetime(2026, 12, 4, 12, tzinfo=UTC))
    with simulator(data, clock, daily_quota=quota) as (sim, base_url):
        first = crawl(requests.Session(), base_url, settings(page_size=5), DAY, tmp_path)
        assert sim.quota_used(DAY) == quota
        # A rerun on the same day meets the spent quota at once: nothing changes.
        again = crawl(requests.Session(), base_url, settings(page_size=5), DAY, tmp_path)
        clock.now += timedelta(days=1)  # the quota is new
        session = Recorder()
        second = crawl(session, base_url, settings(page_size=5), DAY + timedelta(days=1), tmp_path)
    assert first["partial"] and "quotaExceeded" in first["stopped"] and first["quota_units"] == quota
    logged = caplog.text + "".join(capfd.readouterr())  # once Airflow configured logging, it writes to stdout
    assert "PARTIAL crawl" in logged and "the next run resumes at channel" in logged
    assert again["partial"] and again["records"] == 0 and "bronze and the resume point are unchanged" in logged
    kept = payloads(tmp_path, "youtube_videos")
    assert len(kept) == first["youtube_videos"] > 0
    states = read_states(tmp_path)
    assert [(s.run_date, s.complete) for s in states] == [(DAY, False), (DAY + timedelta(days=1), True)]
    assert states[0].resume_channel_id is not None and states[1].cycle_started == DAY
    assert bool(states[0].resume_video_ids) == (quota % 2 == 0) and states[0].resume_page_token is not None
    if quota % 2 == 0:
        assert session.sent[1].startswith("/youtube/v3/videos?"), "the left videos first, then the next page"
        assert "pageToken=" + states[0].resume_page_token in session.sent[2]
    assert not second["partial"] and second["resumed_cycle_of"] == DAY.isoformat()

    fetched_later = payloads(tmp_path, "youtube_videos", DAY + timedelta(days=1))
    assert not {v["id"] for v in kept} & {v["id"] for v in fetched_later}, "nothing kept is fetched again"
    items = [payloads(tmp_path, "youtube_playlist_items", d) for d in (DAY, DAY + timedelta(days=1))]
    assert not {i["id"] for i in items[0]} & {i["id"] for i in items[1]}
    everything = {v for title in (*OURS, *COMPETITORS) for v in csv_videos[title]}
    assert {v["id"] for v in kept} | {v["id"] for v in fetched_later} == everything
    done_first = set(states[0].channels_done)
    asked = ",".join(p.split("id=")[1] for p in session.sent if "/channels?" in p)
    assert done_first and not any(c in asked for c in done_first), "the crawled channels are not asked for again"
    # the whole cycle's calls, plus the second day's channels.list of the channels it crawls
    assert second["quota_units"] + first["quota_units"] == expected_calls(data, 5) + 1


def test_a_resume_token_the_api_no_longer_takes_restarts_that_channels_uploads_from_the_first_page(
        data, csv_videos, tmp_path):
    from pulse.youtube_ingest import CrawlState, write_state

    fallon = channel_ids(COMPETITORS[0])[0]
    done = [c for c in settings().all_channel_ids if c != fallon]
    write_state(tmp_path, CrawlState(
        run_date=DAY - timedelta(days=1), cycle_started=DAY - timedelta(days=1), complete=False,
        channels_done=tuple(done), channels_total=9, stopped="the daily quota ran out", resume_channel_id=fallon,
        resume_page_token="not-a-token", quota_day=DAY - timedelta(days=2), crawled_at=datetime.now(UTC)))
    with simulator(data) as (_, base_url):
        result = crawl(requests.Session(), base_url, settings(page_size=5), DAY, tmp_path)
    assert not result["partial"] and result["channels_crawled"] == 1
    assert {v["id"] for v in payloads(tmp_path, "youtube_videos")} == set(csv_videos[COMPETITORS[0]])


def test_a_refused_key_fails_at_once_naming_the_connection_and_writes_nothing(data, tmp_path):
    with simulator(data) as (sim, base_url):
        session = Recorder()
        with pytest.raises(KeyRefused, match=r"youtube_api.*400 keyInvalid.*password of the 'youtube_api' "
                                             r"connection") as raised:
            crawl(session, base_url, settings(key="AIzaSy-a-wrong-key"), DAY, tmp_path)
    assert len(session.sent) == 1, "not retried"
    assert "AIzaSy-a-wrong-key" not in str(raised.value)
    assert read_states(tmp_path) == []
    assert not bronze_partition_path(tmp_path, "creator", "youtube_channels", DAY).exists()


def test_5xx_429_and_cut_short_answers_are_retried_to_the_same_bronze_and_the_same_quota_count(data, tmp_path):
    with simulator(data) as (_, base_url):
        clean = crawl(requests.Session(), base_url, settings(page_size=5), DAY, tmp_path / "clean")
    faults = request_fault_mix(0.3, rate_limit_retry_after=0, slow_seconds=0.01)
    with simulator(data, faults=faults, seed=10) as (sim, base_url):  # a seed whose draws include 429s
        faulty = crawl(requests.Session(), base_url, settings(page_size=5), DAY, tmp_path / "faulty")
        charged = sim.quota_used(DAY)
    [state] = read_states(tmp_path / "faulty")
    assert {"429", "502"} <= set(state.answers) and state.answers.get("invalid_json", 0) > 0
    assert faulty["quota_units"] == charged, "a truncated 200 is charged, a 429 or 502 is not"
    for dataset in DATASETS:
        assert (sorted(json.dumps(p, sort_keys=True) for p in payloads(tmp_path / "faulty", dataset))
                == sorted(json.dumps(p, sort_keys=True) for p in payloads(tmp_path / "clean", dataset)))
    assert faulty["records"] == clean["records"]


def test_an_api_that_keeps_failing_fails_the_crawl_and_keeps_the_old_bronze(data, tmp_path):
    with simulator(data) as (_, base_url):
        crawl(requests.Session(), base_url, settings(), DAY, tmp_path)
    with simulator(data, faults=FaultConfig(broken_pages=frozenset({("videos", 1)}))) as (_, base_url):
        with pytest.raises(IngestError, match=r"youtube_api at .* on /videos\?.*answered 502 after 6 tries"):
            crawl(requests.Session(), base_url, settings(), DAY, tmp_path)
    assert len(payloads(tmp_path, "youtube_videos")) == 95
    assert [s.complete for s in read_states(tmp_path)] == [True]


def test_the_key_reaches_no_log_no_error_and_nothing_in_the_lake(data, tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)  # urllib3's request lines included
    faults = request_fault_mix(0.3, rate_limit_retry_after=0, slow_seconds=0.01)
    with simulator(data, faults=faults, daily_quota=30) as (_, base_url):
        crawl(requests.Session(), base_url, settings(page_size=5), DAY, tmp_path)
    logged = caplog.text + "".join(capfd.readouterr())  # once Airflow configured logging, it writes to stdout
    assert logged.count("GET /youtube/v3/") > 30, "the request lines were logged"
    assert KEY not in logged
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    row = read_bronze(bronze_partition_path(tmp_path, "creator", "youtube_videos", DAY)).to_pylist()[0]
    assert row["request_url"].startswith("http://127.0.0.1:") and "key" not in row["request_url"]
    assert "KEY" not in repr(settings()) and KEY not in repr(settings())


def test_the_summary_says_when_the_last_crawl_was_partial(data, tmp_path):
    assert crawl_summary_lines(tmp_path) == []
    with simulator(data, daily_quota=5) as (_, base_url):
        crawl(requests.Session(), base_url, settings(page_size=5), DAY, tmp_path)
    [line] = crawl_summary_lines(tmp_path)
    assert line.startswith(f"YouTube crawl (run date {DAY}): PARTIAL: the daily quota ran out")
    assert "the next run resumes at channel UC" in line and "5 quota units" in line


def test_channel_ids_are_read_from_a_list_json_or_commas_and_the_key_and_a_channel_are_required():
    assert parse_channel_ids(' UCa, UCb,,UCa ') == ("UCa", "UCb")
    assert parse_channel_ids('["UCa", "UCb"]') == parse_channel_ids(["UCa", "UCb"]) == ("UCa", "UCb")
    with pytest.raises(ValueError, match="password of the 'youtube_api' connection"):
        YouTubeSettings(api_key="", channel_ids=("UCa",))
    with pytest.raises(ValueError, match="'channel_ids'.*'competitor_channel_ids'"):
        YouTubeSettings(api_key="k")
    both = YouTubeSettings(api_key="k", channel_ids="UCa,UCb", competitor_channel_ids=["UCb", "UCc"])
    assert both.all_channel_ids == ("UCa", "UCb", "UCc")


# --- the input in the DAG -------------------------------------------------------------------------

def youtube_connection(monkeypatch, base_url: str, key: str = KEY) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    monkeypatch.setenv("AIRFLOW_CONN_YOUTUBE_API", json.dumps({
        "conn_type": "http", "host": host, "port": int(port), "schema": "http", "password": key,
        "extra": {"channel_ids": ",".join(channel_ids(*OURS)),
                  "competitor_channel_ids": list(channel_ids(*COMPETITORS))}}))


def test_the_sensor_passes_on_a_working_key_and_a_spent_quota_and_fails_at_once_on_a_refused_key(
        data, monkeypatch, caplog, capfd):
    from airflow.sdk.exceptions import AirflowFailException

    from pulse.inputs import YouTubeDataApi

    sensor = YouTubeDataApi().sensor("wait_for_youtube")
    with simulator(data, daily_quota=1) as (sim, base_url):
        youtube_connection(monkeypatch, base_url)
        assert sensor.poke({}) is True
        assert sensor.poke({}) is True
        logged = caplog.text + "".join(capfd.readouterr())  # Airflow's logging writes to stdout
        assert "today's quota is spent already (403 quotaExceeded)" in logged
        youtube_connection(monkeypatch, base_url, key="AIzaSy-a-wrong-key")
        with pytest.raises(AirflowFailException, match=r"youtube_api.*400 keyInvalid.*'youtube_api' connection"):
            sensor.poke({})


def test_the_input_is_skipped_saying_which_connection_to_define_and_silver_reads_its_tables_as_optional(
        monkeypatch):
    from pulse.sources.creator import CREATOR
    from pulse.tasks import input_selected
    from spark_jobs.creator.schemas import SILVER_DATASETS, YOUTUBE_BRONZE

    monkeypatch.delenv("AIRFLOW_CONN_YOUTUBE_API", raising=False)
    youtube = CREATOR.input("youtube")
    assert "no 'youtube_api' connection is defined" in youtube.unavailable()
    assert input_selected(CREATOR, "youtube", {}) is False
    assert "youtube_api" in CREATOR.connections
    # The API datasets silver requires never include the crawl's; the cross-platform ones read it when it is there.
    assert not set(DATASETS) & set(SILVER_DATASETS)
    assert set(YOUTUBE_BRONZE.values()) <= set(DATASETS)


def test_the_dev_stacks_connection_names_channels_of_the_simulators_data_competitors_of_the_same_category(data):
    from collections import Counter

    from devstack.stack import youtube_connection

    extra = youtube_connection(8767)["extra"]
    ours, competitors = parse_channel_ids(extra["channel_ids"]), parse_channel_ids(extra["competitor_channel_ids"])
    assert len(ours) >= 2 and len(competitors) >= 5 and set(ours) | set(competitors) <= set(data.channels)

    def category(channel_id: str) -> str | None:
        videos = data.channels[channel_id].video_ids
        return Counter(data.videos[v].category_id for v in videos).most_common(1)[0][0] if videos else None

    assert {category(c) for c in (*ours, *competitors)} - {None} == {"23"}, "all Comedy"
