"""The YouTube Data API v3 simulator, over real HTTP: its answers valid against the discovery document and
shaped like the recorded real bodies (../shared/realdata/creator/sources/youtube_data_api_v3/), its data equal to
an independent reading of the real datasets (../shared/realdata/creator/datasets/) on the mapped days, paging by
opaque tokens, the key, parts, the daily quota with the real error bodies, and the faults of the other simulators."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.simulators.faults import FaultConfig
from devstack.simulators.youtube_api import SimulatorConfig, YouTubeApiSimulator

AS_OF = date(2026, 3, 1)
KEY = "pulse-youtube-sim-key"
API = "/youtube/v3"
FULL = "snippet,statistics,contentDetails"
# The dataset's days and the mapping the module documents, written out here: 2017-10-22 is served as AS_OF - 1.
FIRST, LAST = date(2017, 9, 13), date(2017, 10, 22)
OFFSET = (AS_OF - timedelta(days=1)) - LAST


def served_day(trending_day: date) -> date:
    return trending_day + OFFSET


# --- an independent reading of the datasets --------------------------------------------------------

@dataclass
class RefVideo:
    id: str
    channel_title: str = ""
    last_day: date = date.min
    counters: dict[date, tuple[int, int, int]] = field(default_factory=dict)

    def on(self, day: date) -> tuple[int, int, int] | None:
        """Counters shown on served ``day``: those of the latest trending day served on it or before."""
        earlier = [d for d in self.counters if served_day(d) <= day]
        return self.counters[max(earlier)] if earlier else None

    @property
    def first_day(self) -> date:
        return min(self.counters)


def _trending_date(text: str) -> date | None:
    """DD.09 is September; DD.1 is October (the trailing zero dropped); DD.MM glued to an 11-character video id
    (a lost row boundary) is that day; nothing else (``100``) can be placed."""
    head, sep, tail = text.partition(".")
    if not sep or not head.isdigit():
        return None
    if tail == "09" or (tail.startswith("09") and len(tail) == 13):
        return date(2017, 9, int(head))
    if tail == "1":
        return date(2017, 10, int(head))
    return None


@dataclass
class Reference:
    videos: dict[str, RefVideo]
    channels: dict[str, list[str]]
    """Channel title -> its video ids (a video's channel is the title of its last trending row)."""
    top2023: list[dict]


@pytest.fixture(scope="module")
def datasets(realdata) -> Path:
    return realdata / "creator" / "datasets"


@pytest.fixture(scope="module")
def reference(datasets) -> Reference:
    videos: dict[str, RefVideo] = {}
    with (datasets / "youtube_trending_US_2017.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            day = _trending_date(row["date"])
            if day is None:
                continue
            video_id = row["video_id"]
            if video_id == "#NAME?":
                video_id = row["thumbnail_link"].split("/vi/")[1].split("/")[0]
            video = videos.setdefault(video_id, RefVideo(video_id))
            values = (int(row["views"]), int(row["likes"]), int(row["comment_total"]))
            video.counters[day] = max(values, video.counters.get(day, values))
            if day >= video.last_day:
                video.last_day, video.channel_title = day, row["channel_title"]
    channels: dict[str, list[str]] = defaultdict(list)
    for video in videos.values():
        channels[video.channel_title].append(video.id)
    with (datasets / "global_youtube_statistics_2023.csv").open(encoding="utf-8", newline="") as handle:
        top2023 = list(csv.DictReader(handle))
    return Reference(videos, dict(channels), top2023)


# --- the simulator over HTTP -----------------------------------------------------------------------

class Clock:
    """A clock a test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Api:
    def __init__(self, simulator: YouTubeApiSimulator, base_url: str) -> None:
        self.simulator, self.base = simulator, base_url
        self.session = requests.Session()

    def get(self, resource: str, day: date | None = None, **params) -> requests.Response:
        headers = {"X-Pulse-Simulator-Date": day.isoformat()} if day else {}
        return self.session.get(f"{self.base}{API}/{resource}", params={"key": KEY, **params}, headers=headers,
                                timeout=30)

    def ok(self, resource: str, day: date | None = None, **params) -> dict:
        answer = self.get(resource, day, **params)
        assert answer.status_code == 200, answer.text[:500]
        return answer.json()

    def uploads(self, playlist_id: str, day: date, max_results: int) -> list[dict]:
        """Every page of a playlist, following ``nextPageToken``."""
        pages = [self.ok("playlistItems", day, part="snippet,contentDetails", playlistId=playlist_id,
                         maxResults=max_results)]
        while "nextPageToken" in pages[-1]:
            pages.append(self.ok("playlistItems", day, part="snippet,contentDetails", playlistId=playlist_id,
                                 maxResults=max_results, pageToken=pages[-1]["nextPageToken"]))
        return pages

    def channel_ids(self) -> dict[str, str]:
        """Channel title -> id, of the trending dataset's channels."""
        return {c.title: c.id for c in self.simulator.data.channels.values()
                if c.dataset == "youtube_trending_US_2017.csv"}


def start(config: SimulatorConfig, clock: Clock | None = None):
    simulator = YouTubeApiSimulator(config, clock or Clock(datetime(2026, 3, 1, 9, tzinfo=UTC)))
    return simulator, simulator.serving()


@pytest.fixture(scope="module")
def api(datasets):
    simulator, serving = start(SimulatorConfig(as_of=AS_OF, datasets=datasets))
    with serving as base_url:
        yield Api(simulator, base_url)


def batches(ids: list[str], size: int = 50) -> list[list[str]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


# --- a validator for discovery-document schemas ------------------------------------------------------

_DIGITS = re.compile(r"-?\d+")
_INT_RANGES = {"int32": (-2**31, 2**31 - 1), "uint32": (0, 2**32 - 1)}


class Discovery:
    """Validates values against a discovery document's schemas: ``type``, ``properties`` (a key the schema does
    not declare is a problem), ``additionalProperties``, ``items``, ``$ref``, ``enum`` and the formats that
    matter here (``int64``/``uint64`` strings hold digits, ``date-time`` parses, ``int32``/``uint32`` ranges).
    Discovery schemas are not JSON Schema: they have no ``required`` and ``$ref`` names a schema id."""

    def __init__(self, path: Path) -> None:
        self.schemas = json.loads(path.read_text())["schemas"]

    def problems(self, name: str, value: Any) -> list[str]:
        found: list[str] = []
        self._check({"$ref": name}, value, name, found)
        return found

    def _check(self, schema: dict, value: Any, where: str, found: list[str]) -> None:
        if "$ref" in schema:
            schema = self.schemas[schema["$ref"]]
        kind, fmt = schema.get("type"), schema.get("format")
        if kind == "object" or "properties" in schema:
            if not isinstance(value, dict):
                found.append(f"{where}: expected an object, got {value!r:.60}")
                return
            properties, extra = schema.get("properties", {}), schema.get("additionalProperties")
            for key, item in value.items():
                if key in properties:
                    self._check(properties[key], item, f"{where}.{key}", found)
                elif extra is not None:
                    self._check(extra, item, f"{where}.{key}", found)
                else:
                    found.append(f"{where}: {key!r} is not a property of the schema")
        elif kind == "array":
            if not isinstance(value, list):
                found.append(f"{where}: expected an array, got {value!r:.60}")
                return
            for n, item in enumerate(value):
                self._check(schema["items"], item, f"{where}[{n}]", found)
        elif kind == "string":
            if not isinstance(value, str):
                found.append(f"{where}: expected a string, got {value!r:.60}")
            elif fmt in ("int64", "uint64") and not _DIGITS.fullmatch(value):
                found.append(f"{where}: {value!r} is not a {fmt} string")
            elif fmt == "date-time":
                try:
                    datetime.fromisoformat(value)
                except ValueError:
                    found.append(f"{where}: {value!r} is not a date-time")
            if "enum" in schema and value not in schema["enum"]:
                found.append(f"{where}: {value!r} is not one of {schema['enum']}")
        elif kind == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                found.append(f"{where}: expected an integer, got {value!r:.60}")
            elif fmt in _INT_RANGES and not _INT_RANGES[fmt][0] <= value <= _INT_RANGES[fmt][1]:
                found.append(f"{where}: {value} is out of the {fmt} range")
        elif kind == "number":
            if not isinstance(value, int | float) or isinstance(value, bool):
                found.append(f"{where}: expected a number, got {value!r:.60}")
        elif kind == "boolean":
            if not isinstance(value, bool):
                found.append(f"{where}: expected a boolean, got {value!r:.60}")
        elif kind is not None:
            found.append(f"{where}: the validator does not know type {kind!r}")


@pytest.fixture(scope="module")
def api_sources(realdata) -> Path:
    return realdata / "creator" / "sources" / "youtube_data_api_v3"


@pytest.fixture(scope="module")
def discovery(api_sources) -> Discovery:
    return Discovery(api_sources / "youtube.v3.json")


def recorded(api_sources: Path, name: str) -> dict:
    return json.loads((api_sources / "sns-sdks_python-youtube_testdata" / name).read_text())


def transcribed(api_sources: Path, name: str) -> dict:
    return json.loads((api_sources / "error_bodies_transcribed" / name).read_text())


def test_the_recorded_bodies_are_valid_and_the_validator_finds_what_is_wrong(api_sources, discovery):
    for name, schema in (("apidata__channels__info_multiple.json", "ChannelListResponse"),
                         ("apidata__playlist_items__playlist_items_paged_1.json", "PlaylistItemListResponse"),
                         ("apidata__playlist_items__playlist_items_paged_2.json", "PlaylistItemListResponse"),
                         ("apidata__videos__videos_info_multi.json", "VideoListResponse"),
                         ("modeldata__videos__video_api_response.json", "VideoListResponse")):
        assert discovery.problems(schema, recorded(api_sources, name)) == [], name
    broken = recorded(api_sources, "modeldata__videos__video_api_response.json")
    video = broken["items"][0]
    video["statistics"]["viewCount"] = 7920
    video["statistics"]["likeCount"] = "many"
    video["snippet"]["publishedAt"] = "yesterday"
    video["surprise"] = True
    broken["pageInfo"]["totalResults"] = "1"
    assert sorted(discovery.problems("VideoListResponse", broken)) == sorted([
        "VideoListResponse.items[0].statistics.viewCount: expected a string, got 7920",
        "VideoListResponse.items[0].statistics.likeCount: 'many' is not a uint64 string",
        "VideoListResponse.items[0].snippet.publishedAt: 'yesterday' is not a date-time",
        "VideoListResponse.items[0]: 'surprise' is not a property of the schema",
        "VideoListResponse.pageInfo.totalResults: expected an integer, got '1'"])


# --- spec: every endpoint's answers --------------------------------------------------------------------

def test_channels_answers_are_valid_channel_list_responses(api, discovery, reference):
    ids = list(api.simulator.data.channels)
    assert len(ids) == len(reference.channels) + len(reference.top2023)
    for batch in batches(ids):
        body = api.ok("channels", part=FULL, id=",".join(batch))
        assert len(body["items"]) == len(batch)
        assert discovery.problems("ChannelListResponse", body) == []


def test_playlist_items_and_videos_answers_are_valid_on_every_page(api, discovery, reference):
    busiest = sorted(reference.channels, key=lambda t: -len(reference.channels[t]))[:3]
    ids = api.channel_ids()
    pages = 0
    for title in busiest:
        for page in api.uploads("UU" + ids[title][2:], AS_OF, 3):
            assert discovery.problems("PlaylistItemListResponse", page) == []
            pages += 1
    assert pages > 3
    for batch in batches(sorted(reference.videos)):
        body = api.ok("videos", part=FULL, id=",".join(batch))
        assert discovery.problems("VideoListResponse", body) == []


# --- shapes: the recorded bodies -------------------------------------------------------------------

def shape(value: Any) -> Any:
    """Keys and JSON types, nested: ``{"a": {"b": "str"}}``; a list by its first item."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def common_shape_mismatches(ours: Any, real: Any, where: str = "") -> list[str]:
    """Where keys both have differ in type or nesting."""
    if isinstance(ours, dict) and isinstance(real, dict):
        return [m for k in ours.keys() & real.keys() for m in common_shape_mismatches(ours[k], real[k], f"{where}.{k}")]
    if isinstance(ours, list) and isinstance(real, list):
        return common_shape_mismatches(ours[0], real[0], f"{where}[]") if ours and real else []
    return [] if ours == real else [f"{where}: ours {ours}, real {real}"]


# What the datasets cannot fill is absent rather than made up (module docstring); nothing else may be missing.
ABSENT = {
    "channel.snippet": {"customUrl", "thumbnails"},
    "channel.trending.snippet": {"customUrl", "thumbnails", "publishedAt", "country"},
    "channel.trending.statistics": {"subscriberCount"},
    "video.snippet": {"defaultLanguage", "defaultAudioLanguage"},
    "video.contentDetails": {"duration", "dimension", "definition", "caption", "licensedContent", "projection"},
    "video.statistics": {"dislikeCount"},
}


def test_answers_have_the_keys_nesting_and_types_of_the_recorded_bodies(api, api_sources, reference):
    real_channels = recorded(api_sources, "apidata__channels__info_multiple.json")
    real_channel = {k: v for k, v in real_channels["items"][1].items() if k != "brandingSettings"}  # not asked
    global_id = next(c.id for c in api.simulator.data.channels.values() if c.title == "MrBeast")
    trending_id = api.channel_ids()["PewDiePie"]
    body = api.ok("channels", part=FULL, id=f"{global_id},{trending_id}")
    assert list(body) == list(real_channels)
    top, trending = body["items"]
    assert list(top) == list(real_channel)
    assert set(real_channel["snippet"]) - set(top["snippet"]) == ABSENT["channel.snippet"]
    assert set(top["snippet"]) <= set(real_channel["snippet"]) and top["statistics"].keys() == real_channel[
        "statistics"].keys()
    assert set(real_channel["snippet"]) - set(trending["snippet"]) == ABSENT["channel.trending.snippet"]
    assert set(real_channel["statistics"]) - set(trending["statistics"]) == ABSENT["channel.trending.statistics"]
    assert common_shape_mismatches(shape(body), shape(real_channels)) == []

    real_video = recorded(api_sources, "modeldata__videos__video_api_response.json")
    video_id = next(v for v in sorted(reference.videos) if api.simulator.data.videos[v].tags)
    videos = api.ok("videos", part=FULL, id=video_id)
    assert list(videos) == list(real_video)
    ours, real = videos["items"][0], {k: v for k, v in real_video["items"][0].items() if k != "status"}
    assert list(ours) == [k for k in real if k in ours] and set(real) - set(ours) == set()
    for part in ("snippet", "contentDetails", "statistics"):
        assert set(ours[part]) <= set(real[part])
        assert set(real[part]) - set(ours[part]) == ABSENT[f"video.{part}"]
    assert common_shape_mismatches(shape(videos), shape(real_video)) == []

    real_pages = [recorded(api_sources, f"apidata__playlist_items__playlist_items_paged_{n}.json") for n in (1, 2)]
    busiest = max(reference.channels, key=lambda t: len(reference.channels[t]))
    pages = api.uploads("UU" + api.channel_ids()[busiest][2:], AS_OF, 1)
    assert len(pages) > 2
    assert list(pages[0]) == list(real_pages[0]) and set(pages[-1]) == set(real_pages[1])
    assert set(pages[1]) == set(real_pages[0]) | {"prevPageToken"}
    item = pages[0]["items"][0]
    real_item = real_pages[0]["items"][0]
    assert set(item) == set(real_item) | {"contentDetails"} and set(item["snippet"]) == set(real_item["snippet"]) | {
        "videoOwnerChannelId", "videoOwnerChannelTitle"}
    assert common_shape_mismatches(shape(pages[0]), shape(real_pages[0])) == []


# --- the data: real counters on the mapped days ------------------------------------------------------

@pytest.mark.parametrize("trending_day", [FIRST, date(2017, 9, 21), date(2017, 9, 26), date(2017, 10, 9), LAST,
                                          LAST + timedelta(30)],
                         ids=["first-day", "repeated-rows-day", "glued-date", "undated-rows-day", "last-day",
                              "a-month-after"])
def test_videos_on_a_day_have_the_counters_of_that_trending_day_and_only_published_ones_exist(
        api, reference, trending_day):
    day = served_day(trending_day)
    everything = sorted(reference.videos)
    served: dict[str, dict] = {}
    for batch in batches(everything):
        for item in api.ok("videos", day, part="statistics,snippet", id=",".join(batch))["items"]:
            served[item["id"]] = item
    expected = {v: reference.videos[v].on(day) for v in everything if reference.videos[v].on(day)}
    assert set(served) == set(expected)
    assert {v: (int(s["statistics"]["viewCount"]), int(s["statistics"]["likeCount"]),
                int(s["statistics"]["commentCount"])) for v, s in served.items()} == expected
    assert all("dislikeCount" not in s["statistics"] and s["statistics"]["favoriteCount"] == "0"
               for s in served.values())
    assert all(s["snippet"]["publishedAt"] == f"{served_day(reference.videos[v].first_day)}T00:00:00Z"
               for v, s in served.items())


def test_a_video_keeps_its_last_counters_after_its_last_trending_day_and_is_absent_before_its_first(api, reference):
    video = next(v for v in reference.videos.values() if FIRST < v.first_day and len(v.counters) >= 3)
    last = max(video.counters)
    after = api.ok("videos", served_day(last) + timedelta(days=3), part="statistics", id=video.id)
    assert int(after["items"][0]["statistics"]["viewCount"]) == video.counters[last][0]
    before = api.ok("videos", served_day(video.first_day) - timedelta(days=1), part="statistics", id=video.id)
    assert before["items"] == [] and before["pageInfo"]["totalResults"] == 0
    first = api.ok("videos", served_day(video.first_day), part="statistics", id=video.id)
    assert int(first["items"][0]["statistics"]["viewCount"]) == video.counters[video.first_day][0]


def test_videos_whose_ids_a_spreadsheet_mangled_are_served_under_their_real_ids(api, reference, datasets):
    with (datasets / "youtube_trending_US_2017.csv").open(encoding="utf-8", newline="") as handle:
        mangled = {r["thumbnail_link"].split("/vi/")[1].split("/")[0] for r in csv.DictReader(handle)
                   if r["video_id"] == "#NAME?"}
    assert mangled and all(v.startswith("-") for v in mangled)
    body = api.ok("videos", part="snippet", id=",".join(sorted(mangled)))
    assert {i["id"] for i in body["items"]} == mangled


def test_the_uploads_playlist_lists_exactly_the_channels_published_videos_newest_first_across_pages(api, reference):
    ids = api.channel_ids()
    busiest = sorted(reference.channels, key=lambda t: (-len(reference.channels[t]), t))[:5]
    for trending_day in (date(2017, 10, 1), LAST):
        day = served_day(trending_day)
        for title in busiest:
            pages = api.uploads("UU" + ids[title][2:], day, 2)
            items = [i for p in pages for i in p["items"]]
            listed = [i["contentDetails"]["videoId"] for i in items]
            expected = {v for v in reference.channels[title] if served_day(reference.videos[v].first_day) <= day}
            assert len(listed) == len(set(listed)) and set(listed) == expected, title
            published = [i["contentDetails"]["videoPublishedAt"] for i in items]
            assert published == sorted(published, reverse=True)
            assert [i["snippet"]["position"] for i in items] == list(range(len(items)))
            assert all(i["snippet"]["videoOwnerChannelId"] == ids[title] for i in items)
            assert "nextPageToken" not in pages[-1] and all("nextPageToken" in p for p in pages[:-1])
            assert all(len(p["items"]) == 2 for p in pages[:-1]) and pages[-1]["items"], "no empty last page"


def test_channel_statistics_of_trending_channels_sum_their_videos_and_top_2023_channels_are_the_datasets(
        api, reference):
    ids = api.channel_ids()
    day = served_day(date(2017, 10, 5))
    titles = sorted(reference.channels)[:200]
    served = {}
    for batch in batches([ids[t] for t in titles]):
        body = api.ok("channels", day, part=FULL, id=",".join(batch))
        served.update({c["snippet"]["title"]: c for c in body["items"]})
    for title in titles:
        counters = [c for c in (reference.videos[v].on(day) for v in reference.channels[title]) if c]
        stats = served[title]["statistics"]
        assert stats == {"viewCount": str(sum(c[0] for c in counters)), "hiddenSubscriberCount": True,
                         "videoCount": str(len(counters))}, title
        assert served[title]["contentDetails"]["relatedPlaylists"]["uploads"] == "UU" + ids[title][2:]
    top = {c.title: c.id for c in api.simulator.data.channels.values()
           if c.dataset == "global_youtube_statistics_2023.csv"}
    rows = reference.top2023[:50]
    body = api.ok("channels", part=FULL, id=",".join(top[r["Youtuber"]] for r in rows))
    for row, channel in zip(rows, body["items"], strict=True):
        assert channel["snippet"]["title"] == row["Youtuber"]
        assert channel["statistics"] == {"viewCount": str(int(float(row["video views"]))),
                                         "subscriberCount": row["subscribers"], "hiddenSubscriberCount": False,
                                         "videoCount": row["uploads"]}
        if row["created_year"] != "nan":
            created = datetime.strptime(f"{row['created_year'][:4]} {row['created_month']} {row['created_date']}",
                                        "%Y %b %d").date()
            assert channel["snippet"]["publishedAt"] == f"{created}T00:00:00Z"
        empty = api.ok("playlistItems", part="snippet", playlistId=channel["contentDetails"]["relatedPlaylists"][
            "uploads"])
        assert empty["items"] == [] and "nextPageToken" not in empty


def test_channel_ids_look_like_real_ones_and_are_stable_across_restarts(api, datasets):
    ids = list(api.simulator.data.channels)
    assert all(re.fullmatch(r"UC[A-Za-z0-9_-]{21}[AQgw]", i) for i in ids) and len(set(ids)) == len(ids)
    again = YouTubeApiSimulator(SimulatorConfig(as_of=date(2030, 1, 1), datasets=datasets))
    assert list(again.data.channels) == ids


def test_the_status_says_which_days_the_dataset_is_served_on(api):
    status = api.session.get(f"{api.base}/simulator/status", timeout=5).json()
    assert status["today"] == status["as_of"] == "2026-03-01"
    assert status["last_trending_day_served_on"] == "2026-02-28"
    assert status["first_trending_day_served_on"] == (date(2026, 2, 28) - timedelta(days=39)).isoformat()


# --- behaving like the real API --------------------------------------------------------------------------

def test_unknown_ids_are_dropped_silently_and_known_ones_answered_in_order(api, reference):
    known = sorted(reference.videos)[:3]
    body = api.ok("videos", part="id", id=",".join([known[0], "xxxxxxxxxxx", known[1], "nope", known[2]]))
    assert [i["id"] for i in body["items"]] == known and body["pageInfo"]["totalResults"] == 3
    channel = next(iter(api.simulator.data.channels))
    body = api.ok("channels", part="id", id=f"UCxxxxxxxxxxxxxxxxxxxxxx,{channel}")
    assert [i["id"] for i in body["items"]] == [channel]


def test_max_results_defaults_to_5_and_takes_0_to_50(api, reference):
    title = max(reference.channels, key=lambda t: len(reference.channels[t]))
    playlist = "UU" + api.channel_ids()[title][2:]
    assert len(api.ok("playlistItems", part="snippet", playlistId=playlist)["items"]) == 5
    assert api.ok("playlistItems", part="snippet", playlistId=playlist, maxResults=0)["items"] == []
    assert len(api.ok("playlistItems", part="snippet", playlistId=playlist, maxResults=50)["items"]) == min(
        50, len(reference.channels[title]))
    for bad in (51, -1, "x"):
        answer = api.get("playlistItems", part="snippet", playlistId=playlist, maxResults=bad)
        assert answer.status_code == 400 and answer.json()["error"]["errors"][0]["reason"] == "invalidParameter"


def test_page_tokens_are_opaque_and_belong_to_their_playlist(api, reference):
    ids = api.channel_ids()
    big = sorted(reference.channels, key=lambda t: -len(reference.channels[t]))[:2]
    first, second = ("UU" + ids[t][2:] for t in big)
    token = api.ok("playlistItems", part="id", playlistId=first, maxResults=2)["nextPageToken"]
    assert not token.isdigit() and "2" != token
    for bad_token, playlist in ((token, second), (token[:-2] + "AA", first), ("2", first)):
        answer = api.get("playlistItems", part="id", playlistId=playlist, maxResults=2, pageToken=bad_token)
        assert answer.status_code == 400 and answer.json()["error"]["errors"][0]["reason"] == "invalidPageToken"


def test_total_results_is_an_estimate_and_next_page_token_is_what_pages(api, reference):
    ids = api.channel_ids()
    day = served_day(date(2017, 9, 20))
    growing = next(t for t in sorted(reference.channels)
                   if any(served_day(reference.videos[v].first_day) <= day for v in reference.channels[t])
                   and any(served_day(reference.videos[v].first_day) > day for v in reference.channels[t]))
    pages = api.uploads("UU" + ids[growing][2:], day, 50)
    listed = sum(len(p["items"]) for p in pages)
    assert pages[0]["pageInfo"]["totalResults"] > listed and "nextPageToken" not in pages[-1]


def test_a_wrong_key_answers_the_real_key_invalid_body_and_costs_no_quota(api, api_sources):
    used = api.simulator.quota_used(AS_OF)
    answer = api.session.get(f"{api.base}{API}/videos", params={"key": "wrong", "part": "id", "id": "x"}, timeout=5)
    assert answer.status_code == 400 and answer.json() == recorded(api_sources, "error_response.json")
    missing = api.session.get(f"{api.base}{API}/videos", params={"part": "id", "id": "x"}, timeout=5)
    assert missing.status_code == 403 and missing.json()["error"]["code"] == 403
    assert api.simulator.quota_used(AS_OF) == used


def test_the_key_may_come_in_the_x_goog_api_key_header_as_google_apis_take_it(api, api_sources):
    video = sorted(api.simulator.data.videos)[0]
    url = f"{api.base}{API}/videos?part=id&id={video}"
    answer = api.session.get(url, headers={"X-Goog-Api-Key": KEY}, timeout=5)
    assert answer.status_code == 200 and answer.json()["items"][0]["id"] == video
    wrong = api.session.get(url, headers={"X-Goog-Api-Key": "wrong"}, timeout=5)
    assert wrong.status_code == 400 and wrong.json() == recorded(api_sources, "error_response.json")


def test_parts_are_required_and_a_part_the_resource_lacks_answers_400_unknown_part(api):
    answer = api.get("videos", part="snippet,statistic", id="x")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == 400 and error["errors"][0]["reason"] == "unknownPart"
    assert error["errors"][0]["location"] == "part" and "statistic" in error["message"]
    assert api.get("channels", id="x").json()["error"]["errors"][0]["reason"] == "required"
    assert api.get("videos", part="status", id=sorted(api.simulator.data.videos)[0]).status_code == 200


def test_an_unknown_playlist_answers_the_real_404_playlist_not_found_body(api, api_sources):
    answer = api.get("playlistItems", part="snippet", playlistId="UUxxxxxxxxxxxxxxxxxxxxxx")
    assert answer.status_code == 404 and answer.json() == transcribed(api_sources, "404_playlistNotFound.json")


def test_the_quota_runs_out_with_the_real_body_and_is_new_on_the_simulators_next_day(datasets, api_sources):
    clock = Clock(datetime(2026, 3, 1, 23, 0, tzinfo=UTC))
    simulator, serving = start(SimulatorConfig(as_of=AS_OF, datasets=datasets, daily_quota=3), clock)
    with serving as base_url:
        api = Api(simulator, base_url)
        video = sorted(simulator.data.videos)[0]
        answers = [api.get("videos", part="id", id=video) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        spent = api.get("videos", part="id", id=video)
        assert spent.status_code == 403 and spent.json() == transcribed(api_sources, "403_quotaExceeded.json")
        assert "\\u003ca href=" in spent.text, "Google writes < as \\u003c"
        assert api.get("channels", part="id", id="x").status_code == 403, "one bucket for every list call"
        assert api.get("videos", AS_OF + timedelta(days=1), part="id", id=video).status_code == 200
        clock.now += timedelta(hours=2)  # past midnight UTC: the simulator's day is AS_OF + 1
        status = api.session.get(f"{base_url}/simulator/status", timeout=5).json()
        assert status["today"] == "2026-03-02" and status["quota"] == {"daily_limit": 3, "used": 1}
        assert [api.get("videos", part="id", id=video).status_code for _ in range(3)] == [200, 200, 403]


def test_a_bad_simulator_date_header_is_refused(api):
    answer = api.session.get(f"{api.base}{API}/videos", params={"key": KEY, "part": "id", "id": "x"},
                             headers={"X-Pulse-Simulator-Date": "tomorrow"}, timeout=5)
    assert answer.status_code == 400 and "X-Pulse-Simulator-Date" in answer.json()["error"]["message"]


# --- faults ------------------------------------------------------------------------------------------

def test_a_broken_page_always_answers_502_and_its_neighbours_do_not(datasets, reference):
    faults = FaultConfig(broken_pages=frozenset({("playlist_items", 2)}))
    simulator, serving = start(SimulatorConfig(as_of=AS_OF, datasets=datasets, faults=faults))
    with serving as base_url:
        api = Api(simulator, base_url)
        title = max(reference.channels, key=lambda t: len(reference.channels[t]))
        playlist = "UU" + api.channel_ids()[title][2:]
        first = api.ok("playlistItems", part="id", playlistId=playlist, maxResults=2)
        for _ in range(3):
            broken = api.get("playlistItems", part="id", playlistId=playlist, maxResults=2,
                             pageToken=first["nextPageToken"])
            assert broken.status_code == 502 and broken.json()["error"]["code"] == 502
        assert api.get("videos", part="id", id="x").status_code == 200


def test_rate_limits_answer_429_with_retry_after_in_googles_error_shape(datasets):
    faults = FaultConfig(rate_limit_rate=1.0, rate_limit_burst=1, rate_limit_retry_after=3)
    simulator, serving = start(SimulatorConfig(as_of=AS_OF, datasets=datasets, faults=faults))
    with serving as base_url:
        answer = Api(simulator, base_url).get("videos", part="id", id="x")
        health = requests.get(f"{base_url}/health", timeout=5)
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "3"
    error = answer.json()["error"]
    assert error["code"] == 429 and error["errors"][0]["reason"] == "rateLimitExceeded"
    assert health.json() == {"status": "ok"}, "health is spared every fault but down"
    assert simulator.quota_used(AS_OF) == 0, "a request refused before the API ran costs nothing"


def test_failures_truncated_and_slow_answers_and_down(datasets):
    def one(faults: FaultConfig) -> tuple[requests.Response, float]:
        simulator, serving = start(SimulatorConfig(as_of=AS_OF, datasets=datasets, faults=faults))
        with serving as base_url:
            started = time.perf_counter()
            answer = Api(simulator, base_url).get("videos", part="snippet", id=sorted(simulator.data.videos)[0])
            return answer, time.perf_counter() - started

    failed, _ = one(FaultConfig(fail_rate=1.0))
    assert failed.status_code == 502 and failed.json()["error"]["errors"][0]["reason"] == "backendError"
    cut, _ = one(FaultConfig(bad_page_rate=1.0))
    assert cut.status_code == 200
    with pytest.raises(ValueError):
        cut.json()
    slow, elapsed = one(FaultConfig(slow_rate=1.0, slow_seconds=0.3))
    assert slow.status_code == 200 and elapsed >= 0.3
    down, _ = one(FaultConfig(down=True))
    assert down.status_code == 503 and down.json()["error"]["code"] == 503


def test_record_noise_is_refused_the_records_are_the_real_datasets(datasets):
    for faults in (FaultConfig(duplicate_rate=0.1), FaultConfig(malformed_rate=0.1),
                   FaultConfig(changed_types=frozenset({("videos", "statistics")}))):
        with pytest.raises(ValueError, match="no record noise"):
            SimulatorConfig(as_of=AS_OF, datasets=datasets, faults=faults)


# --- the command line ------------------------------------------------------------------------------------

def test_the_command_line_serves_the_mapped_days_until_sigterm_and_logs_each_request(simulator_command, datasets,
                                                                                    reference):
    args = ["--as-of", "2026-05-10", "--datasets", str(datasets), "--api-key", "cli-key", "--daily-quota", "2"]
    video = next(v for v in sorted(reference.videos) if LAST in reference.videos[v].counters)
    with simulator_command("devstack.simulators.youtube_api", args, "health") as served:
        params = {"key": "cli-key", "part": "statistics", "id": video}
        answer = requests.get(f"{served.base_url}{API}/videos", params=params, timeout=5)
        assert int(answer.json()["items"][0]["statistics"]["viewCount"]) == reference.videos[video].counters[LAST][0]
        status = requests.get(f"{served.base_url}/simulator/status", timeout=5).json()
        assert status["last_trending_day_served_on"] == "2026-05-09"
        assert requests.get(f"{served.base_url}{API}/videos", params=params, timeout=5).status_code == 200
        assert requests.get(f"{served.base_url}{API}/videos", params=params, timeout=5).status_code == 403
    assert served.returncode == 0, served.output
    assert f"listening on {served.base_url}" in served.output
    assert "served as 2026-03-31..2026-05-09" in served.output
    assert "GET /youtube/v3/videos?" in served.output and "quotaExceeded" in served.output
    assert "key=***" in served.output and "cli-key" not in served.output, "the log never shows the API key"


def test_the_command_line_refuses_record_noise(datasets):
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "include"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "devstack.simulators.youtube_api", "--datasets", str(datasets),
                           "--duplicate-rate", "0.1"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2 and "no record noise" in done.stderr
