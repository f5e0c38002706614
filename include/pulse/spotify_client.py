"""The Spotify Web API client on Pulse's ingest path, and the crawl that writes Spotify bronze.

Credentials come from the Airflow connection ``spotify_api`` (conn_type ``http``):

- host/schema/port: the API's base (real: ``https://api.spotify.com``; ``/v1`` is appended);
- login/password: the app's client id and client secret;
- extras: ``token_url`` (default the real ``https://accounts.spotify.com/api/token``),
  ``refresh_token`` (optional: a listener's, needed for recently played), ``listener`` (the name the
  listener's plays are filed under; required with ``refresh_token``), ``playlist_ids`` (a JSON list
  or a comma-separated string: the playlists to pull).

Tokens: an app token (client credentials) for the catalogue, and, with a refresh token, the
listener's token (refresh-token grant) for ``/me/…`` and the playlist endpoints (since 2026 a
playlist's items are only readable with the token of its owner or a collaborator). Each is cached
until shortly before it expires and renewed, once per request, when the API answers 401. Every page
goes through :func:`pulse.http_ingest.get_json_page`: 429 honours ``Retry-After``, 5xx and broken
bodies are retried, and token requests that fail that way are retried with the page that needed them.
A ``next`` URL (or a redirect) to another scheme, host or port fails the crawl before anything, a token
least of all, is sent there.

The crawl (:func:`crawl`) pulls the configured playlists and their items, the listener's recently
played, then every artist and album their tracks refer to, and writes one bronze partition per
dataset for the run date (``source`` ``spotify``): ``playlists``, ``playlist_items``, ``artists``,
``albums`` and ``recently_played`` (under ``listener=<name>``). Each payload is the object exactly as
the API sent it. All the datasets of a run are written, or none.

Deprecated endpoints degrade, each with one log line, and the run goes on: ``/playlists/{id}/items``
→ ``/playlists/{id}/tracks`` on 403/404 (an API from before 2026); batch ``GET /artists?ids=`` and
``GET /albums?ids=`` → one ``GET /artists/{id}`` / ``GET /albums/{id}`` each on 403/404
(Development Mode apps since February 2026).

Secrets (client secret, refresh token, access tokens) never appear in logs, errors or manifests.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.auth import AuthBase, HTTPBasicAuth

from pulse.http_ingest import (
    IngestError,
    RetryableAnswer,
    RetryBudget,
    RetryPolicy,
    ensure_same_origin,
    get_json_page,
    id_batches,
    parse_retry_after,
)
from pulse.lake import BronzePartitionWriter, read_bronze, zone_path

log = logging.getLogger(__name__)

CONN_ID = "spotify_api"
SOURCE = "spotify"
REAL_TOKEN_URL = "https://accounts.spotify.com/api/token"
DATASETS = ("playlists", "playlist_items", "artists", "albums", "recently_played")
CONNECTION_EXTRAS = ("token_url", "refresh_token", "listener", "playlist_ids")
"""Extras of the connection that are settings, not HTTP headers (HttpHook sends every extra as one)."""
ARTISTS_PER_REQUEST = 50
ALBUMS_PER_REQUEST = 20
ITEMS_PAGE_SIZE = 50
TRACKS_PAGE_SIZE = 100
RECENT_PAGE_SIZE = 50
MAX_PAGES = 10_000
LISTENER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_USER_PATH = re.compile(r"/me(/|$)")
_PLAYLIST_PATH = re.compile(r"/playlists/")


@dataclass(frozen=True)
class SpotifySettings:
    """What to pull and with which credentials. ``repr`` leaves the secrets out."""

    client_id: str
    client_secret: str = field(repr=False)
    playlist_ids: tuple[str, ...] = ()
    token_url: str = REAL_TOKEN_URL
    refresh_token: str | None = field(default=None, repr=False)
    listener: str | None = None
    api_name: str = CONN_ID
    """Names the API (the connection) in logs and errors."""
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    token_margin: float = 60.0
    """Renew a token this many seconds before it expires (at most half its lifetime)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "playlist_ids", parse_playlist_ids(self.playlist_ids))
        if not self.client_id or not self.client_secret:
            raise ValueError(f"{self.api_name}: the client id (login) and client secret (password) are "
                             "required")
        if self.refresh_token and not self.listener:
            raise ValueError(f"{self.api_name}: a refresh_token needs a listener: the name its plays are "
                             "filed under (extra 'listener')")
        if self.listener is not None and not LISTENER_NAME.fullmatch(self.listener):
            raise ValueError(f"{self.api_name}: listener {self.listener!r} must be 1-64 letters, digits, "
                             "'_', '.' or '-' (it names a bronze partition)")
        if not self.playlist_ids and not self.refresh_token:
            raise ValueError(f"{self.api_name}: nothing to pull: set the extra 'playlist_ids' and/or "
                             "'refresh_token'")


def parse_playlist_ids(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Playlist ids from a list or a comma-separated string (spaces ignored, order kept, no repeats)."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    ids = [str(item).strip() for item in items]
    return tuple(dict.fromkeys(i for i in ids if i))


def settings_from_connection(connection: Any, policy: RetryPolicy | None = None) -> SpotifySettings:
    """Settings from an Airflow connection (login, password and the extras :data:`CONNECTION_EXTRAS`);
    ``policy``: the settings' :class:`RetryPolicy` when not given."""
    extra = connection.extra_dejson or {}
    return SpotifySettings(
        client_id=connection.login or "", client_secret=connection.password or "",
        playlist_ids=parse_playlist_ids(extra.get("playlist_ids")),
        token_url=extra.get("token_url") or REAL_TOKEN_URL,
        refresh_token=extra.get("refresh_token") or None, listener=extra.get("listener") or None,
        api_name=connection.conn_id or CONN_ID, policy=policy or RetryPolicy())


def api_base_url(base_url: str) -> str:
    """The Web API's base from a connection's base URL: ``https://api.spotify.com`` → ``…/v1``."""
    base = base_url.rstrip("/")
    return base if base.endswith("/v1") else f"{base}/v1"


def session_from_connection(conn_id: str = CONN_ID, policy: RetryPolicy | None = None
                            ) -> tuple[requests.Session, str, SpotifySettings]:
    """The HTTP session, API base URL and settings of the Airflow connection ``conn_id``.

    The session comes from the http provider's ``HttpHook`` (so proxies, TLS and the like follow the
    connection), minus what the hook adds that the API must not see: Basic auth with the client
    secret, and the connection's extras (the refresh token among them) as headers."""
    from airflow.providers.http.hooks.http import HttpHook

    hook = HttpHook(method="GET", http_conn_id=conn_id)
    session = hook.get_conn()
    settings = settings_from_connection(hook.get_connection(conn_id), policy)
    session.auth = None
    for name in CONNECTION_EXTRAS:
        session.headers.pop(name, None)
    return session, api_base_url(hook.base_url), settings


# --- tokens --------------------------------------------------------------------------------------

APP, USER = "app", "user"


class SpotifyTokens:
    """Access tokens from the accounts service, cached until shortly before they expire: the app's
    (client credentials) and the listener's (refresh-token grant). Thread-safe.

    A token request that fails in a way worth retrying (no answer, 429, 5xx, a broken body) raises
    :class:`~pulse.http_ingest.RetryableAnswer`, so the page that needed the token is retried with
    the ingest path's policy; refused credentials raise :class:`~pulse.http_ingest.IngestError`."""

    def __init__(self, session: requests.Session, settings: SpotifySettings,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.requested: Counter[str] = Counter()
        """Token requests made, by kind (``app``, ``user``)."""
        self._cache: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    @property
    def has_user(self) -> bool:
        return bool(self.settings.refresh_token)

    def get(self, kind: str) -> str:
        """A token of ``kind`` (:data:`APP` or :data:`USER`), from the cache while it is fresh."""
        with self._lock:
            cached = self._cache.get(kind)
            if cached is not None and self.clock() < cached[1]:
                return cached[0]
            return self._fetch(kind)

    def renew(self, kind: str, refused: str) -> str:
        """A new token of ``kind`` to replace ``refused`` (unless another request renewed it already)."""
        with self._lock:
            cached = self._cache.get(kind)
            if cached is not None and cached[0] != refused and self.clock() < cached[1]:
                return cached[0]
            self._cache.pop(kind, None)
            return self._fetch(kind)

    def _refused(self, kind: str, error: object) -> str:
        """What the accounts service refused: the client credentials go with every grant."""
        if error == "invalid_client" or kind == APP:
            return "the app's client credentials"
        return f"the refresh token of listener {self.settings.listener}"

    def _fetch(self, kind: str) -> str:
        s = self.settings
        if kind == USER:
            if not s.refresh_token:
                raise IngestError(f"{s.api_name}: this request needs a listener's token, and the connection "
                                  "has no refresh_token")
            form = {"grant_type": "refresh_token", "refresh_token": s.refresh_token}
        else:
            form = {"grant_type": "client_credentials"}
        where = f"getting a token: the accounts service at {s.token_url}"
        self.requested[kind] += 1
        try:
            response = self.session.post(s.token_url, data=form, timeout=s.policy.timeout,
                                         auth=HTTPBasicAuth(s.client_id, s.client_secret))
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetryableAnswer(f"({where} could not be reached: {type(exc).__name__})") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise RetryableAnswer(f"({where} answered {status})", status,
                                  parse_retry_after(response.headers.get("Retry-After")))
        try:
            body = response.json()
        except ValueError as exc:
            raise RetryableAnswer(f"({where} answered {status} with a body that is not JSON)",
                                  status) from exc
        if status >= 400:
            error = body.get("error") if isinstance(body, dict) else None
            detail = body.get("error_description") if isinstance(body, dict) else None
            advice = ("check the login (client id) and password (client secret) of the connection"
                      if error == "invalid_client" else
                      "get a new refresh token for this listener and put it in the connection"
                      if error == "invalid_grant" else "check the connection's token_url and credentials")
            message = (f"{s.api_name}: the accounts service at {s.token_url} refused "
                       f"{self._refused(kind, error)} ({status} {error}: {detail}): {advice}")
            raise IngestError(_redact(message, s), status)
        body = body if isinstance(body, dict) else {}
        token, expires_in = body.get("access_token"), body.get("expires_in")
        if not (isinstance(token, str) and token and isinstance(expires_in, int | float) and expires_in > 0):
            raise RetryableAnswer(f"({where} answered {status} without an access_token and expires_in)",
                                  status)
        lifetime = float(expires_in)
        self._cache[kind] = (token, self.clock() + lifetime - min(s.token_margin, lifetime / 2))
        log.info("%s: new %s access token from %s (expires in %ds)", s.api_name, kind, s.token_url, lifetime)
        return token


class SpotifyAuth(AuthBase):
    """Bearer auth from :class:`SpotifyTokens`: the listener's token on ``/me/…`` (and on the playlist
    endpoints when there is one), the app's elsewhere. A 401 renews the token and asks once more."""

    def __init__(self, tokens: SpotifyTokens) -> None:
        self.tokens = tokens

    def kind_for(self, url: str) -> str:
        path = urlsplit(url).path
        if _USER_PATH.search(path) or (self.tokens.has_user and _PLAYLIST_PATH.search(path)):
            return USER
        return APP

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        kind = self.kind_for(request.url or "")
        token = self.tokens.get(kind)
        request.headers["Authorization"] = f"Bearer {token}"
        request.register_hook("response", self._renew_on_401(kind, token))
        return request

    def _renew_on_401(self, kind: str, token: str) -> Callable[..., requests.Response]:
        def renew(response: requests.Response, **send_options: Any) -> requests.Response:
            if response.status_code != 401:
                return response
            log.info("%s: %s answered 401 (%s): renewing the %s access token and asking again",
                     self.tokens.settings.api_name, _short(response.url), _error_message(response), kind)
            response.content  # noqa: B018 (read the body so the connection can be reused)
            response.close()
            fresh = self.tokens.renew(kind, token)
            retry = response.request.copy()
            retry.headers["Authorization"] = f"Bearer {fresh}"
            # the adapter sends without dispatching hooks again: one renewal per request at most
            again = response.connection.send(retry, **send_options)
            again.history.append(response)
            again.request = retry
            return again

        return renew


def _error_message(response: requests.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.reason or "no message"


def _short(url: str) -> str:
    """A URL for a log line: path and query, with a long ``ids=`` list counted instead of shown."""
    parts = urlsplit(url)
    query = re.sub(r"ids=([^&]*)", lambda m: f"ids=<{m.group(1).count(',') + 1} ids>", parts.query)
    return parts.path + (f"?{query}" if query else "")


def _redact(text: str, settings: SpotifySettings) -> str:
    for secret in (settings.client_secret, settings.refresh_token):
        if secret:
            text = text.replace(secret, "***")
    return text


# --- the crawl -----------------------------------------------------------------------------------

def _is_paging(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("items"), list)


def _is_object(kind: str) -> Callable[[Any], bool]:
    return lambda body: (isinstance(body, dict) and isinstance(body.get("id"), str)
                         and body.get("type") == kind)


def _is_many(kind: str) -> Callable[[Any], bool]:
    return lambda body: isinstance(body, dict) and isinstance(body.get(kind), list)


def track_of(entry: Any) -> dict | None:
    """The track of a playlist entry (``item``, or the deprecated ``track``) or of a play; None for an
    episode, a local file or a broken record."""
    if not isinstance(entry, dict):
        return None
    track = entry.get("item") or entry.get("track")
    if isinstance(track, dict) and track.get("type") == "track" and not track.get("is_local"):
        return track
    return None


def referenced_ids(tracks: Iterable[dict]) -> tuple[list[str], list[str]]:
    """The artist ids (of the tracks and of their albums) and album ids that tracks refer to, first
    seen first, without repeats."""
    artists: dict[str, None] = {}
    albums: dict[str, None] = {}
    for track in tracks:
        album = track.get("album") if isinstance(track.get("album"), dict) else {}
        for artist in [*(track.get("artists") or []), *(album.get("artists") or [])]:
            if isinstance(artist, dict) and isinstance(artist.get("id"), str):
                artists[artist["id"]] = None
        if isinstance(album.get("id"), str):
            albums[album["id"]] = None
    return list(artists), list(albums)


def played_at_ms(record: Any) -> int | None:
    """A play's ``played_at`` in Unix milliseconds, or None when it cannot be read."""
    try:
        moment = datetime.fromisoformat(record["played_at"])
    except (TypeError, KeyError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp() * 1000 + 0.5)


def newest_known_play(lake_root: str | Path, listener: str, run_date: date) -> int | None:
    """The newest ``played_at`` (Unix ms) in the listener's bronze partitions of run dates before
    ``run_date``; None when there are none."""
    root = zone_path(lake_root, "bronze", SOURCE, "recently_played") / f"listener={listener}"
    newest = None
    for partition in sorted(root.glob("run_date=*")) if root.is_dir() else ():
        try:
            if date.fromisoformat(partition.name.removeprefix("run_date=")) >= run_date:
                continue
        except ValueError:
            continue
        for payload in read_bronze(partition, columns=["payload"]).column("payload").to_pylist():
            try:
                moment = played_at_ms(json.loads(payload))
            except ValueError:
                continue
            if moment is not None and (newest is None or moment > newest):
                newest = moment
    return newest


class _Crawler:
    """One crawl's requests: pages through get_json_page, into writers, remembering degradations."""

    def __init__(self, session: requests.Session, base_url: str, settings: SpotifySettings) -> None:
        self.session = session
        self.base_url = base_url
        self.settings = settings
        self.answers: Counter = Counter()
        self.degraded: list[str] = []
        self.items_path = "items"
        self.batch = {"artists": True, "albums": True}
        self.tracks: list[dict] = []
        self.budget = RetryBudget(settings.policy.budget)

    def describe(self, url: str, page: int) -> str:
        return f"{self.settings.api_name} at {self.base_url} on {_short(url)} (page {page})"

    def get(self, url: str, page: int, is_valid: Callable[[Any], bool]) -> dict:
        return get_json_page(self.session, url, None, self.settings.policy, self.describe(url, page), is_valid,
                             self.answers, self.budget)

    def next_page(self, body: dict, url: str, page: int) -> str | None:
        """The page's ``next`` URL, when it stays on the API's scheme, host and port (else IngestError)."""
        nxt = body.get("next")
        return ensure_same_origin(nxt, self.base_url, self.describe(url, page)) if nxt else None

    def degrade(self, line: str) -> None:
        log.warning("%s", line)
        self.degraded.append(line)

    def playlist(self, playlist_id: str, writer: BronzePartitionWriter) -> None:
        url = f"{self.base_url}/playlists/{quote(playlist_id, safe='')}"
        body = self.get(url, writer.pages + 1, _is_object("playlist"))
        writer.add_page(writer.pages + 1, url, [body])

    def playlist_items(self, playlist_id: str, writer: BronzePartitionWriter) -> None:
        """Every entry of a playlist, following ``next`` from the first page."""
        first = None
        while first is None:
            size = ITEMS_PAGE_SIZE if self.items_path == "items" else TRACKS_PAGE_SIZE
            url = f"{self.base_url}/playlists/{quote(playlist_id, safe='')}/{self.items_path}?limit={size}"
            try:
                first = self.get(url, writer.pages + 1, _is_paging)
            except IngestError as exc:
                if self.items_path != "items" or exc.status not in (403, 404):
                    raise
                why = "not served: an API from before 2026" if exc.status == 404 else "forbidden"
                self.degrade(f"GET /v1/playlists/{{id}}/items answered {exc.status} ({why}): reading the "
                             "deprecated /v1/playlists/{id}/tracks instead")
                self.items_path = "tracks"
        body, read, seen = first, 0, {url}
        while True:
            writer.add_page(writer.pages + 1, url, body["items"])
            read += len(body["items"])
            self.tracks.extend(t for t in map(track_of, body["items"]) if t is not None)
            nxt = self.next_page(body, url, writer.pages)
            if not nxt:
                break
            if nxt in seen or len(seen) >= MAX_PAGES:
                raise IngestError(f"{self.settings.api_name} at {self.base_url}: the items of playlist "
                                  f"{playlist_id} page back to {_short(nxt)}, a page already read")
            url = nxt
            seen.add(url)
            body = self.get(url, writer.pages + 1, _is_paging)
        if isinstance(first.get("total"), int) and read != first["total"]:
            log.warning("%s: playlist %s said it holds %d items and %d came (changed while paging?)",
                        self.settings.api_name, playlist_id, first["total"], read)

    def recently_played(self, writer: BronzePartitionWriter, newest_known: int | None) -> None:
        """The listener's recently played, paging back with ``before`` until there is no ``next`` or a
        page reaches a play that bronze already holds."""
        url: str | None = f"{self.base_url}/me/player/recently-played?limit={RECENT_PAGE_SIZE}"
        seen: set[str] = set()
        while url:
            if url in seen or len(seen) >= MAX_PAGES:
                raise IngestError(f"{self.settings.api_name} at {self.base_url}: recently played pages back "
                                  f"to {_short(url)}, a page already read")
            seen.add(url)
            body = self.get(url, writer.pages + 1, _is_paging)
            items = body["items"]
            writer.add_page(writer.pages + 1, url, items)
            self.tracks.extend(t for t in map(track_of, items) if t is not None)
            times = [t for t in map(played_at_ms, items) if t is not None]
            if newest_known is not None and times and min(times) <= newest_known:
                log.info("%s: recently played of %s reached plays already in bronze (up to %s): stopping",
                         self.settings.api_name, self.settings.listener,
                         datetime.fromtimestamp(newest_known / 1000, UTC).isoformat())
                break
            url = self.next_page(body, url, writer.pages) if items else None

    def catalogue(self, kind: str, ids: list[str], per_request: int, writer: BronzePartitionWriter) -> None:
        """Artists or albums: the deprecated batch endpoint in chunks, or one by one once it is refused."""
        single = kind[:-1]
        remaining = list(ids)
        if self.batch[kind]:
            for chunk in id_batches(ids, per_request):
                url = f"{self.base_url}/{kind}?ids={','.join(quote(i, safe='') for i in chunk)}"
                try:
                    body = self.get(url, writer.pages + 1, _is_many(kind))
                except IngestError as exc:
                    if exc.status not in (403, 404):
                        raise
                    why = "deprecated in 2026" if exc.status == 403 else "not served"
                    self.degrade(f"GET /v1/{kind}?ids= answered {exc.status} ({why}): "
                                 f"fetching {kind} one by one")
                    self.batch[kind] = False
                    break
                found = [obj for obj in body[kind] if obj is not None]
                if len(found) < len(chunk):
                    log.warning("%s: %d of %d %s asked for are unknown to the API", self.settings.api_name,
                                len(chunk) - len(found), len(chunk), kind)
                writer.add_page(writer.pages + 1, url, found)
                remaining = remaining[len(chunk):]
        if not self.batch[kind]:
            for object_id in remaining:
                url = f"{self.base_url}/{kind}/{quote(object_id, safe='')}"
                writer.add_page(writer.pages + 1, url, [self.get(url, writer.pages + 1, _is_object(single))])


def crawl(session: requests.Session, base_url: str, settings: SpotifySettings, run_date: date,
          lake_root: str | Path) -> dict[str, int]:
    """Pull the configured playlists, their items, the listener's recently played (when the settings
    hold a refresh token), then the artists and albums all their tracks refer to, into one bronze
    partition per dataset for ``run_date``. Returns the records written per dataset.

    All datasets or none: a failure leaves every partition as it was. The session is authenticated
    here (bearer tokens from ``settings``); ``base_url`` is the API's, e.g. ``https://api.spotify.com/v1``."""
    started = time.monotonic()
    base_url = base_url.rstrip("/")
    session.auth = SpotifyAuth(SpotifyTokens(session, settings))
    crawler = _Crawler(session, base_url, settings)
    writers: dict[str, BronzePartitionWriter] = {}

    def writer(name: str, partition: Sequence[tuple[str, str]] = ()) -> BronzePartitionWriter:
        if name not in writers:
            writers[name] = BronzePartitionWriter(lake_root, SOURCE, name, run_date, partition)
        return writers[name]

    committed: set[str] = set()
    try:
        for playlist_id in settings.playlist_ids:
            crawler.playlist(playlist_id, writer("playlists"))
        for playlist_id in settings.playlist_ids:
            crawler.playlist_items(playlist_id, writer("playlist_items"))
        if settings.refresh_token and settings.listener:
            newest = newest_known_play(lake_root, settings.listener, run_date)
            crawler.recently_played(writer("recently_played", (("listener", settings.listener),)), newest)
        else:
            log.info("%s: no refresh_token in the connection: recently played is skipped (it needs a "
                     "listener's token)", settings.api_name)
        artist_ids, album_ids = referenced_ids(crawler.tracks)
        crawler.catalogue("artists", artist_ids, ARTISTS_PER_REQUEST, writer("artists"))
        crawler.catalogue("albums", album_ids, ALBUMS_PER_REQUEST, writer("albums"))
        finished = datetime.now(UTC).isoformat()
        for name, w in writers.items():
            w.commit({"api": settings.api_name, "base_url": base_url, "dataset": name,
                      "run_date": run_date.isoformat(), "finished_at": finished,
                      "playlist_ids": list(settings.playlist_ids), "listener": settings.listener,
                      "answers": dict(crawler.answers), "degraded": crawler.degraded})
            committed.add(name)
    except BaseException:
        for name, w in writers.items():
            if name not in committed:
                w.abort()
        raise
    counts = {name: w.records for name, w in writers.items()}
    log.info("%s: crawled %s in %.1fs (answers: %s)", settings.api_name,
             ", ".join(f"{n} {c}" for n, c in counts.items()), time.monotonic() - started,
             dict(crawler.answers))
    return counts


def ingest_spotify(run_date: date, conn_id: str = CONN_ID, lake_root: str | None = None) -> dict[str, int]:
    """The Airflow task body: crawl with the connection ``conn_id`` into the lake."""
    from pulse.config import lake_root as configured_lake_root

    session, base_url, settings = session_from_connection(conn_id)
    with session:
        return crawl(session, base_url, settings, run_date, lake_root or configured_lake_root())
