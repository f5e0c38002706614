"""The Spotify client and crawl, over real HTTP (the Spotify simulator, or scripted answers): tokens,
retries, deprecated endpoints, cursor paging, all-or-nothing bronze, secrets kept out of logs, and
the real Web API bodies passing through unchanged."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from devstack.simulators.faults import FaultConfig, request_fault_mix
from devstack.simulators.spotify_api import SimulatorConfig, SpotifyApiSimulator, ms_from_datetime
from pulse.http_ingest import IngestError, RetryPolicy
from pulse.lake import BronzePartitionWriter, bronze_partition_path, read_bronze, read_manifest
from pulse.spotify_client import (
    APP,
    SpotifyAuth,
    SpotifySettings,
    SpotifyTokens,
    crawl,
    parse_playlist_ids,
    played_at_ms,
    referenced_ids,
    session_from_connection,
    settings_from_connection,
)
from tests.ingest.scripted_server import scripted_server

RUN_DATE = dt.date(2026, 3, 1)
AS_OF = dt.datetime(2026, 3, 1, 18, 30, tzinfo=dt.UTC)
SIM = dict(seed=11, artists=14, playlists=2, playlist_size=(55, 70), as_of=AS_OF)
CLIENT_ID, CLIENT_SECRET = "pulse-spotify-sim", "pulse-spotify-sim-secret"
FAST = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=2, timeout=5)
DEGRADED_ARTISTS = "GET /v1/artists?ids= answered 403 (deprecated in 2026): fetching artists one by one"
DEGRADED_ALBUMS = "GET /v1/albums?ids= answered 403 (deprecated in 2026): fetching albums one by one"
DEGRADED_ITEMS = ("GET /v1/playlists/{id}/items answered 404 (not served: an API from before 2026): "
                  "reading the deprecated /v1/playlists/{id}/tracks instead")
PLAYLIST_IN_URL = re.compile(r"/v1/playlists/([^/?]+)/(?:items|tracks)")


class Sim:
    """A running simulator and what the tests expect of a crawl against it."""

    def __init__(self, simulator: SpotifyApiSimulator, base_url: str) -> None:
        self.simulator, self.catalogue, self.base = simulator, simulator.catalogue, base_url

    def settings(self, listener: str | None = "alice", **changes) -> SpotifySettings:
        values = dict(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                      playlist_ids=tuple(self.catalogue.playlists), token_url=f"{self.base}/api/token",
                      refresh_token=f"refresh-{listener}" if listener else None, listener=listener,
                      policy=FAST)
        return SpotifySettings(**{**values, **changes})

    def crawl(self, lake: Path, run_date: dt.date = RUN_DATE, session: requests.Session | None = None,
              **changes) -> dict[str, int]:
        session = session or requests.Session()
        return crawl(session, f"{self.base}/v1", self.settings(**changes), run_date, lake)

    def expected_counts(self, listener: str | None = "alice") -> dict[str, int]:
        c = self.catalogue
        tracks = [track for p in c.playlists.values() for track, _ in p.entries]
        counts = {"playlists": len(c.playlists), "playlist_items": len(tracks)}
        if listener:
            plays = c.recent_plays(listener, ms_from_datetime(c.config.as_of))
            tracks += [p.track_id for p in plays]
            counts["recently_played"] = len(plays)
        artists, albums = c.referenced_ids(tracks)
        return {**counts, "artists": len(artists), "albums": len(albums)}


@contextmanager
def simulator(**changes) -> Iterator[Sim]:
    sim = SpotifyApiSimulator(SimulatorConfig(**{**SIM, **changes}))
    with sim.serving() as base_url:
        yield Sim(sim, base_url)


@pytest.fixture(scope="module")
def sim():
    with simulator() as running:
        yield running


@pytest.fixture(scope="module")
def old_sim():
    with simulator(api_version="pre2026") as running:
        yield running


def rows(lake: Path, dataset: str, run_date: dt.date = RUN_DATE, listener: str | None = None) -> list[dict]:
    partition = (("listener", listener),) if listener else ()
    return read_bronze(bronze_partition_path(lake, "spotify", dataset, run_date, partition)).to_pylist()


def payloads(lake: Path, dataset: str, **where) -> list[dict]:
    return [json.loads(r["payload"]) for r in rows(lake, dataset, **where)]


def lake_listing(lake: Path) -> list[str]:
    root = lake / "bronze" / "spotify"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


# --- the crawl, end to end -------------------------------------------------------------------------

def test_a_crawl_writes_every_dataset_into_bronze_with_exact_counts(sim, tmp_path):
    counts = sim.crawl(tmp_path)
    assert counts == sim.expected_counts() and counts["recently_played"] == 50
    assert set(lake_listing(tmp_path)) >= {
        "playlists/run_date=2026-03-01", "playlist_items/run_date=2026-03-01", "artists/run_date=2026-03-01",
        "albums/run_date=2026-03-01", "recently_played/listener=alice/run_date=2026-03-01"}
    assert not [p for p in lake_listing(tmp_path) if "/." in p or p.startswith(".")], "no staging left behind"
    # each playlist's items, in order, and the playlist recoverable from request_url
    items = rows(tmp_path, "playlist_items")
    by_playlist = Counter(PLAYLIST_IN_URL.search(r["request_url"]).group(1) for r in items)
    assert by_playlist == {pid: len(p.entries) for pid, p in sim.catalogue.playlists.items()}
    served = [(json.loads(r["payload"])["item"]["id"], json.loads(r["payload"])["added_at"]) for r in items]
    assert served == [e for p in sim.catalogue.playlists.values() for e in p.entries]
    assert [r["record_index"] for r in items] == list(range(len(items)))
    assert {(r["source"], r["endpoint"]) for r in items} == {("spotify", "playlist_items")}
    assert [p["id"] for p in payloads(tmp_path, "playlists")] == list(sim.catalogue.playlists)
    plays = payloads(tmp_path, "recently_played", listener="alice")
    assert [p["played_at"] for p in plays] == sorted((p["played_at"] for p in plays), reverse=True)
    artists = {a["id"] for a in payloads(tmp_path, "artists")}
    albums = {a["id"] for a in payloads(tmp_path, "albums")}
    tracks = [json.loads(r["payload"])["item"] for r in items] + [p["track"] for p in plays]
    assert (artists, albums) == tuple(map(set, referenced_ids(tracks)))
    manifest = read_manifest(bronze_partition_path(tmp_path, "spotify", "artists", RUN_DATE))
    assert manifest["records"] == counts["artists"]
    assert manifest["degraded"] == [DEGRADED_ARTISTS, DEGRADED_ALBUMS]


def test_without_a_refresh_token_recently_played_is_skipped_with_a_log_line(sim, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="pulse.spotify_client")
    counts = sim.crawl(tmp_path, listener=None)
    assert counts == sim.expected_counts(listener=None) and "recently_played" not in counts
    assert "no refresh_token in the connection: recently played is skipped" in caplog.text
    assert not (tmp_path / "bronze" / "spotify" / "recently_played").exists()


def test_rerunning_a_date_replaces_its_partitions(sim, tmp_path):
    first = sim.crawl(tmp_path)
    assert sim.crawl(tmp_path) == first
    assert len(rows(tmp_path, "playlist_items")) == first["playlist_items"]
    assert sorted(p.name for p in (tmp_path / "bronze/spotify/albums").iterdir()) == ["_delta_log",
                                                                                       "run_date=2026-03-01"]


# --- deprecated endpoints --------------------------------------------------------------------------

def test_the_2026_api_fetches_artists_and_albums_one_by_one_after_one_log_line_each(sim, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="pulse.spotify_client")
    counts = sim.crawl(tmp_path)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert lines == [DEGRADED_ARTISTS, DEGRADED_ALBUMS]
    artist_rows = rows(tmp_path, "artists")
    assert len({r["request_url"] for r in artist_rows}) == counts["artists"]
    assert all(re.search(r"/v1/artists/[0-9A-Za-z]{22}$", r["request_url"]) for r in artist_rows)


def test_the_pre2026_api_reads_the_deprecated_tracks_after_one_log_line_and_fetches_in_batches(
        old_sim, sim, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="pulse.spotify_client")
    counts = old_sim.crawl(tmp_path / "old")
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [DEGRADED_ITEMS]
    assert counts == old_sim.expected_counts()
    items = rows(tmp_path / "old", "playlist_items")
    assert all("/tracks?" in r["request_url"] for r in items) and all("item" not in json.loads(r["payload"])
                                                                       for r in items)
    artist_urls = {r["request_url"] for r in rows(tmp_path / "old", "artists")}
    assert len(artist_urls) == -(-counts["artists"] // 50)
    assert all("/v1/artists?ids=" in u for u in artist_urls)
    assert len({r["request_url"] for r in rows(tmp_path / "old", "albums")}) == -(-counts["albums"] // 20)
    # the same catalogue objects whichever way they were fetched
    sim.crawl(tmp_path / "new")
    for dataset in ("artists", "albums"):
        old = sorted(json.dumps(p, sort_keys=True).replace(old_sim.base, "")
                     for p in payloads(tmp_path / "old", dataset))
        new = sorted(json.dumps(p, sort_keys=True).replace(sim.base, "")
                     for p in payloads(tmp_path / "new", dataset))
        assert old == new, dataset


# --- tokens ----------------------------------------------------------------------------------------

class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_app_token_is_cached_until_shortly_before_it_expires(sim):
    clock = FakeClock()
    tokens = SpotifyTokens(requests.Session(), sim.settings(token_margin=60), clock)
    first = tokens.get(APP)
    clock.now += 3600 - 61
    assert tokens.get(APP) == first and tokens.requested[APP] == 1
    clock.now += 2
    assert tokens.get(APP) != first and tokens.requested[APP] == 2


def test_a_short_lived_token_is_renewed_at_half_its_lifetime():
    with simulator(token_ttl=10) as short:
        clock = FakeClock()
        tokens = SpotifyTokens(requests.Session(), short.settings(), clock)
        first = tokens.get(APP)
        clock.now += 4.9
        assert tokens.get(APP) == first
        clock.now += 0.2
        assert tokens.get(APP) != first


def test_a_token_the_api_calls_expired_is_renewed_and_the_request_asked_again(caplog):
    caplog.set_level(logging.INFO, logger="pulse.spotify_client")
    with simulator(token_ttl=0.6, expires_in=3600) as short:
        session = requests.Session()
        tokens = SpotifyTokens(session, short.settings())
        session.auth = SpotifyAuth(tokens)
        url = f"{short.base}/v1/artists/{next(iter(short.catalogue.artists))}"
        assert session.get(url).status_code == 200
        time.sleep(0.65)
        again = session.get(url)
    assert again.status_code == 200 and [r.status_code for r in again.history] == [401]
    assert tokens.requested[APP] == 2
    renewal = "answered 401 (The access token expired): renewing the app access token and asking again"
    assert renewal in caplog.text


def test_a_token_refused_again_right_after_renewal_fails_loudly_and_writes_nothing(tmp_path):
    with simulator(token_ttl=1e-6, expires_in=3600) as dying:
        with pytest.raises(IngestError, match=r"spotify_api at http://127\.0\.0\.1:\d+/v1 on "
                                              r"/v1/playlists/.* answered 401: .*The access token expired"
                           ) as failure:
            dying.crawl(tmp_path)
    assert failure.value.status == 401
    assert lake_listing(tmp_path) == [] or not [p for p in lake_listing(tmp_path) if "run_date=" in p]


def test_an_accounts_service_that_keeps_failing_fails_loudly_naming_it(tmp_path):
    with simulator(faults=FaultConfig(broken_pages=frozenset({("token", 1)}))) as broken:
        with pytest.raises(IngestError, match=r"getting a token: the accounts service at http://127\.0\.0\.1:\d+/api/"
                                              r"token answered 502\) after 3 tries"):
            broken.crawl(tmp_path)


@pytest.mark.parametrize("changes, message", [
    ({"client_secret": "wrong-secret"},
     r"refused the app's client credentials \(400 invalid_client: Invalid client secret\): check the login "
     r"\(client id\) and password"),
    ({"refresh_token": "refresh-mallory"},
     r"refused the refresh token of listener alice \(400 invalid_grant: Invalid refresh token\): get a new "
     r"refresh token"),
])
def test_refused_credentials_fail_at_once_with_what_to_do(sim, tmp_path, changes, message):
    started = time.monotonic()
    with pytest.raises(IngestError, match=message) as failure:
        sim.crawl(tmp_path, **changes)
    assert failure.value.status == 400 and time.monotonic() - started < 2
    assert "wrong-secret" not in str(failure.value) and "refresh-mallory" not in str(failure.value)


# --- retries ---------------------------------------------------------------------------------------

def minimal_playlist(playlist_id: str) -> dict:
    return {"id": playlist_id, "type": "playlist", "name": "scripted"}


def empty_page(url: str) -> dict:
    return {"href": url, "items": [], "limit": 50, "next": None, "offset": 0, "previous": None, "total": 0}


def test_5xx_and_truncated_answers_are_retried_until_the_page_arrives(sim, tmp_path):
    def flaky(path, n, full):
        if path.endswith("/items"):
            return (200, {}, b'{"href": "x", "items": [') if n == 0 else (200, {}, empty_page(full))
        if n == 0:
            return 502, {"Retry-After": "0"}, {"error": {"status": 502, "message": "Bad gateway"}}
        if n == 1:
            return 503, {"Retry-After": "0"}, {"error": {"status": 503, "message": "Service unavailable"}}
        return 200, {}, minimal_playlist("p1")

    with scripted_server(flaky) as (url, log):
        counts = crawl(requests.Session(), f"{url}/v1", sim.settings(listener=None, playlist_ids=("p1",)),
                       RUN_DATE, tmp_path)
    assert counts == {"playlists": 1, "playlist_items": 0, "artists": 0, "albums": 0}
    assert [s for _, p, s in log if p == "/v1/playlists/p1"] == [502, 503, 200]
    assert [s for _, p, s in log if p.startswith("/v1/playlists/p1/items")] == [200, 200]
    assert json.loads(rows(tmp_path, "playlists")[0]["payload"]) == minimal_playlist("p1")


def test_a_crawl_through_30_percent_failing_requests_writes_exactly_the_fault_free_bronze(sim, tmp_path):
    expected = sim.crawl(tmp_path / "clean")
    thirty_percent = request_fault_mix(0.3, slow_seconds=0.05, rate_limit_retry_after=0)
    with simulator(faults=thirty_percent) as faulty:
        counts = faulty.crawl(tmp_path / "faulty", policy=RetryPolicy(initial_wait=0.01, max_wait=1, timeout=5))
    assert counts == expected
    for dataset in expected:
        where = {"listener": "alice"} if dataset == "recently_played" else {}
        got, want = (sorted(rows(tmp_path / lake, dataset, **where), key=lambda r: r["record_index"])
                     for lake in ("faulty", "clean"))
        assert [r["payload"].replace(faulty.base, sim.base) for r in got] == [r["payload"] for r in want], dataset
    answers = read_manifest(bronze_partition_path(tmp_path / "faulty", "spotify", "artists", RUN_DATE))["answers"]
    assert {"502", "429", "invalid_json"} <= set(answers), answers


def test_a_429_waits_as_long_as_retry_after_says(sim, tmp_path):
    def limited(path, n, full):
        if path == "/v1/playlists/p1" and n == 0:
            return 429, {"Retry-After": "1"}, {"error": {"status": 429, "message": "API rate limit exceeded"}}
        return 200, {}, minimal_playlist("p1") if path == "/v1/playlists/p1" else empty_page(full)

    with scripted_server(limited) as (url, log):
        settings = sim.settings(listener=None, playlist_ids=("p1",))
        crawl(requests.Session(), f"{url}/v1", settings, RUN_DATE, tmp_path)
    assert [s for _, p, s in log][:2] == [429, 200] and log[1][0] - log[0][0] >= 0.95


# --- recently played -------------------------------------------------------------------------------

def test_recently_played_pages_back_with_before_until_no_next_then_only_to_the_newest_known_play(tmp_path):
    with simulator(recently_played_max=120) as first:
        counts = first.crawl(tmp_path)
    assert counts["recently_played"] == 120
    day_one = rows(tmp_path, "recently_played", listener="alice")
    urls = list(dict.fromkeys(r["request_url"] for r in day_one))
    assert len(urls) == 3 and urls[0].endswith("/recently-played?limit=50")
    assert all(re.search(r"\?before=\d{13}&limit=50$", u) for u in urls[1:])
    newest = max(played_at_ms(json.loads(r["payload"])) for r in day_one)

    later = AS_OF + dt.timedelta(hours=20)
    with simulator(recently_played_max=120, as_of=later) as next_day:
        next_day.crawl(tmp_path, run_date=RUN_DATE + dt.timedelta(days=1))
        visible = next_day.catalogue.recent_plays("alice", ms_from_datetime(later))
    day_two = rows(tmp_path, "recently_played", RUN_DATE + dt.timedelta(days=1), listener="alice")
    fetched = [played_at_ms(json.loads(r["payload"])) for r in day_two]
    new_plays = [p.played_at_ms for p in visible if p.played_at_ms > newest]
    assert 0 < len(new_plays) < 120, "the scenario needs some, not all, plays to be new"
    assert set(new_plays) <= set(fetched), "every play newer than bronze's newest is fetched"
    pages = len({r["request_url"] for r in day_two})
    assert pages == -(-(len(new_plays) + 1) // 50), "up to the page holding the first known play, no further"
    assert min(fetched) <= newest, "it stopped on the page that reached the newest known play"


# --- all or nothing --------------------------------------------------------------------------------

def test_a_failure_mid_crawl_leaves_no_partition_and_keeps_the_old_ones(tmp_path, sim):
    once = RetryPolicy(attempts=1, timeout=5)
    with simulator(faults=FaultConfig(broken_pages=frozenset({("albums", 1)}))) as broken:
        with pytest.raises(IngestError, match=r"on /v1/albums\?ids=<20 ids> \(page 1\) answered 502 after 1 "
                                              r"tries"):
            broken.crawl(tmp_path, policy=once)
    assert lake_listing(tmp_path) == [] or not [p for p in lake_listing(tmp_path) if "run_date=" in p]
    before = sim.crawl(tmp_path)
    listing = lake_listing(tmp_path)
    with simulator(faults=FaultConfig(broken_pages=frozenset({("albums", 1)}))) as broken:
        with pytest.raises(IngestError):
            broken.crawl(tmp_path, policy=once)
    assert lake_listing(tmp_path) == listing, "the old partitions stay, and nothing half-written is left"
    assert {d: len(rows(tmp_path, d, listener="alice" if d == "recently_played" else None))
            for d in before} == before


# --- secrets ---------------------------------------------------------------------------------------

def test_secrets_never_appear_in_logs_errors_or_manifests(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    sent_tokens: set[str] = set()
    answers = Counter()

    def remember(response, **_):
        header = response.request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            sent_tokens.add(header.removeprefix("Bearer "))
        answers["all"] += 1
        if answers["all"] == 6:
            time.sleep(0.55)  # the tokens in use die: the next requests answer 401 and renew them

    errors = []
    # 429s with Retry-After 0: the retry log lines are checked too, without waiting
    limits = FaultConfig(rate_limit_rate=0.1, rate_limit_retry_after=0, rate_limit_burst=1)
    with simulator(token_ttl=0.5, expires_in=3600, faults=limits) as short:
        session = requests.Session()
        session.hooks["response"].append(remember)
        patient = RetryPolicy(attempts=8, timeout=5)
        short.crawl(tmp_path, session=session, policy=patient)
        for changes in ({"client_secret": "wrong-secret"}, {"refresh_token": "refresh-mallory"}):
            with pytest.raises(IngestError) as failure:
                short.crawl(tmp_path / "failed", **changes)
            errors.append(str(failure.value))
        settings = short.settings()
    manifests = "".join(p.read_text() for p in tmp_path.rglob("_manifest.json"))
    assert len(sent_tokens) >= 3 and "answered 401" in caplog.text and "answered 429" in caplog.text
    secrets = [CLIENT_SECRET, "refresh-alice", "wrong-secret", "refresh-mallory", *sent_tokens]
    for where, text in (("log", caplog.text), ("errors", " ".join(errors)), ("manifests", manifests),
                        ("settings", repr(settings))):
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"secrets in the {where}: {leaked}"


# --- the real bodies -------------------------------------------------------------------------------

def test_the_real_web_api_bodies_pass_through_into_bronze_unchanged(realdata, sim, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="pulse.spotify_client")
    api = realdata / "spotify" / "api"
    real = {name: json.loads((api / f"{name}.json").read_text()) for name in (
        "playlist", "playlist_tracks_page", "artists_several", "albums_several", "recently_played",
        "error_429_rate_limit", "error_404_not_found")}
    playlist_id = real["playlist"]["id"]
    answers = {
        f"/v1/playlists/{playlist_id}": real["playlist"],
        f"/v1/playlists/{playlist_id}/tracks": real["playlist_tracks_page"],
        "/v1/artists": real["artists_several"],
        "/v1/albums": real["albums_several"],
        "/v1/me/player/recently-played": real["recently_played"],
    }

    def script(path, n, full):
        if path == f"/v1/playlists/{playlist_id}" and n == 0:
            return 429, {"Retry-After": "1"}, real["error_429_rate_limit"]
        if path == f"/v1/playlists/{playlist_id}/items":
            return 404, {}, real["error_404_not_found"]
        return 200, {}, answers[path]

    # bronze already holds the newest play, so paging back stops on the first page (whose next link
    # points at the real API)
    known = BronzePartitionWriter(tmp_path, "spotify", "recently_played", RUN_DATE - dt.timedelta(days=1),
                                  (("listener", "alice"),))
    known.add_page(1, "earlier", real["recently_played"]["items"][:1])
    known.commit({})
    with scripted_server(script) as (url, log):
        counts = crawl(requests.Session(), f"{url}/v1", sim.settings(playlist_ids=(playlist_id,)), RUN_DATE,
                       tmp_path)

    assert payloads(tmp_path, "playlists") == [real["playlist"]]
    assert payloads(tmp_path, "playlist_items") == real["playlist_tracks_page"]["items"]
    assert payloads(tmp_path, "recently_played", listener="alice") == real["recently_played"]["items"]
    tracks = [e["track"] for e in real["playlist_tracks_page"]["items"]] + \
             [p["track"] for p in real["recently_played"]["items"]]
    artist_ids, album_ids = referenced_ids(tracks)
    batches = {"artists": -(-len(artist_ids) // 50), "albums": -(-len(album_ids) // 20)}
    for kind, requests_made in batches.items():
        assert payloads(tmp_path, kind) == real[f"{kind}_several"][kind] * requests_made, kind
        asked = [p for _, p, _ in log if p.startswith(f"/v1/{kind}?")]
        assert [i for p in asked for i in p.split("ids=")[1].split(",")] == (artist_ids if kind == "artists"
                                                                             else album_ids)
    assert counts == {"playlists": 1, "playlist_items": 40, "recently_played": 48,
                      "artists": 3 * batches["artists"], "albums": 3 * batches["albums"]}
    first_two = [entry for entry in log if entry[1] == f"/v1/playlists/{playlist_id}"]
    assert [s for _, _, s in first_two] == [429, 200] and first_two[1][0] - first_two[0][0] >= 0.95
    assert DEGRADED_ITEMS in caplog.text and "reached plays already in bronze" in caplog.text
    assert not [p for _, p, _ in log if "before=" in p], "the real body's next link was not followed"


# --- settings and the Airflow connection ----------------------------------------------------------

def test_playlist_ids_come_as_a_list_or_a_comma_separated_string():
    assert parse_playlist_ids(" a, b ,,a ") == ("a", "b")
    assert parse_playlist_ids(["a", " b", "a"]) == ("a", "b")
    assert parse_playlist_ids(None) == ()


def test_settings_are_checked_and_keep_secrets_out_of_their_repr():
    with pytest.raises(ValueError, match="needs a listener"):
        SpotifySettings("id", "secret", ("p",), refresh_token="r")
    with pytest.raises(ValueError, match="names a bronze partition"):
        SpotifySettings("id", "secret", ("p",), refresh_token="r", listener="../alice")
    with pytest.raises(ValueError, match="nothing to pull"):
        SpotifySettings("id", "secret")
    settings = SpotifySettings("id", "top-secret", "p1,p2", refresh_token="refresh-x", listener="x")
    assert settings.playlist_ids == ("p1", "p2") and "top-secret" not in repr(settings)
    assert "refresh-x" not in repr(settings)


def test_settings_from_a_connection_read_login_password_and_extras():
    connection = SimpleNamespace(conn_id="spotify_api", login="app", password="secret", extra_dejson={
        "playlist_ids": "p1, p2", "refresh_token": "refresh-bob", "listener": "bob"})
    settings = settings_from_connection(connection, FAST)
    assert (settings.client_id, settings.client_secret) == ("app", "secret")
    assert settings.playlist_ids == ("p1", "p2")
    assert settings.token_url == "https://accounts.spotify.com/api/token" and settings.listener == "bob"
    assert settings.policy == FAST


def test_the_airflow_connection_gives_a_session_that_sends_no_credentials_or_extras_as_headers(sim, tmp_path,
                                                                                                monkeypatch):
    host, port = sim.base.removeprefix("http://").split(":")
    monkeypatch.setenv("AIRFLOW_CONN_SPOTIFY_API", json.dumps({
        "conn_type": "http", "host": host, "port": int(port), "schema": "http", "login": CLIENT_ID,
        "password": CLIENT_SECRET,
        "extra": {"token_url": f"{sim.base}/api/token", "refresh_token": "refresh-alice", "listener": "alice",
                  "playlist_ids": list(sim.catalogue.playlists)}}))
    session, base_url, settings = session_from_connection("spotify_api", FAST)
    assert base_url == f"{sim.base}/v1" and session.auth is None
    sent = {h.lower() for h in session.headers}
    assert not {"token_url", "refresh_token", "listener", "playlist_ids"} & sent
    assert settings.playlist_ids == tuple(sim.catalogue.playlists) and settings.listener == "alice"
    assert crawl(session, base_url, settings, RUN_DATE, tmp_path) == sim.expected_counts()


def test_a_next_url_on_another_host_fails_naming_both_and_gets_no_request_nor_token(tmp_path):
    with scripted_server(lambda p, n, f: (200, {}, {"items": [], "next": None})) as (other_url, other_log):
        def api(path, n, full):
            if path == "/api/token":
                return 200, {}, {"access_token": "app-token-secret", "token_type": "Bearer", "expires_in": 3600}
            if path == "/v1/playlists/p1":
                return 200, {}, {"id": "p1", "type": "playlist", "name": "one"}
            return 200, {}, {"items": [], "total": 0, "next": f"{other_url}/v1/playlists/p1/items?offset=50"}

        with scripted_server(api) as (url, log):
            settings = SpotifySettings(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, playlist_ids=("p1",),
                                       token_url=f"{url}/api/token", policy=FAST)
            with pytest.raises(IngestError) as failed:
                crawl(requests.Session(), f"{url}/v1", settings, RUN_DATE, tmp_path)
    message = str(failed.value)
    assert f"next link points at {other_url}, not at the connection's {url}" in message
    assert "secret" not in message
    assert other_log == [], "the other host received a request"
    assert lake_listing(tmp_path) == []
