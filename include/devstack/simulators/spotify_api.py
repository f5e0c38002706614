"""The Spotify Web API simulator: the accounts service's token endpoint and the Web API on one port.

Shapes, field names, types and paging follow Spotify's OpenAPI description
(``../shared/realdata/spotify/openapi/spotify-openapi.yml``, 2026, and ``spotify-openapi-pre2026.yml``)
and the real bodies in ``../shared/realdata/spotify/api/``. What it serves:

- ``POST /api/token`` as ``accounts.spotify.com/api/token``: HTTP Basic auth ``client_id:client_secret``
  (or both in the form), form body ``grant_type=client_credentials`` or
  ``grant_type=refresh_token&refresh_token=…`` → ``{"access_token", "token_type": "Bearer",
  "expires_in", "scope"}``. Errors are the accounts service's own shape, status 400:
  ``{"error": "invalid_client" | "invalid_grant" | "unsupported_grant_type", "error_description": …}``.
- Under ``/v1`` (every call needs ``Authorization: Bearer <token>``): ``GET /playlists/{id}``,
  ``/playlists/{id}/items`` (2026), ``/playlists/{id}/tracks`` (deprecated), ``/artists/{id}``,
  ``/artists?ids=`` (deprecated, ≤ 50 ids), ``/albums/{id}``, ``/albums?ids=`` (deprecated, ≤ 20 ids),
  ``/tracks/{id}``, and with a listener's token only ``/me`` and ``/me/player/recently-played``.
  Errors are ``{"error": {"status", "message"}}``.
- ``GET /health`` → ``{"status": "ok"}``: not part of Spotify, for the Airflow sensor only.

Paging: offset paging objects (``href``, ``items``, ``limit``, ``next`` and ``previous`` as absolute
URLs, ``offset``, ``total``; ``limit`` 1-50, default 20, for ``/items``, 1-100 for the deprecated
``/tracks``); recently played is cursor paged (``before``/``after`` in Unix ms, ``limit`` ≤ 50,
``cursors`` ``{"after": newest, "before": oldest}`` and ``next`` with ``before=<cursors.before>``, as
the real body has them; ``next`` is null on the last page and ``cursors`` null on an empty one, as the
real API answers although the spec does not say they may be null). Like the real API, recently played
shows only the listener's newest ``recently_played_max`` (50) plays.

Auth: a missing token answers 401 "No token provided", an unknown one 401 "Invalid access token", an
expired one 401 "The access token expired" (tokens are accepted for ``token_ttl`` seconds). An app
token (client credentials) on ``/me/…`` answers **403** "Insufficient client scope": that is what the
real API answered in the latest reports (older ones saw 401), and a 403 — "re-authenticating won't
help", in the spec's words — stops a client that renews its token on 401 from asking again in vain.

API versions (``api_version``): ``"2026"`` (default) serves ``/items`` and the playlist fields
``items``/``item`` beside the deprecated ``tracks``/``track``; the deprecated ``/playlists/{id}/tracks``
and the batch ``GET /artists`` and ``GET /albums`` answer 403, which is what Development Mode apps get
since the February 2026 change (the spec only marks them ``deprecated``; Extended Quota apps still get
them). ``"pre2026"`` has no ``/items`` (404) and serves ``/tracks`` and the batch endpoints, with the
classic playlist shape. In both, the fields the 2026 spec marks deprecated (``popularity``,
``followers``, ``genres``, ``label``, ``available_markets``…) are still served. Two real 2026
restrictions are *not* simulated: ``/items`` answering 403 for playlists the user neither owns nor
collaborates on, and Development Mode's removal of those deprecated fields.

Data are a pure function of the seed: a catalogue of artists, albums and tracks (22-character base62
ids, popularity, genres, followers, durations, release dates with their precision), ``playlists``
playlists (their ids come from the seed; the CLI lists them at start), and one listener per name in
``listeners``, whose refresh token is ``refresh-<name>``. A listener's plays are a pure function of
``(seed, name, day)``; recently played answers the newest ones before ``as_of`` (default: now).
Object ``href``s and paging links point at the simulator (the ``Host`` the client asked).

Faults (:mod:`devstack.simulators.faults`) as in the creator simulator; ``broken_pages`` names
``(resource, page)`` with resource one of :data:`FAULT_RESOURCES` (``playlist_items`` page
``offset // limit + 1``; ``recently_played`` page 1 without a cursor, 2 with one). Record noise
(malformed and duplicate extras) is added to playlist items and recently played, the paged lists;
``late_update_rate`` does nothing here, as Spotify objects carry no version timestamp.

Run it: ``python -m devstack.simulators.spotify_api --port 8766 --seed 42 --listener alice --listener bob``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import logging
import math
import re
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from random import Random
from typing import Any
from urllib.parse import parse_qsl

from devstack.simulators.faults import (
    FaultConfig,
    FaultDecision,
    Noise,
    RecordShape,
    add_fault_arguments,
    noisy_records,
    parse_simulator_args,
)
from devstack.simulators.http_server import (
    ApiError,
    JsonApi,
    Request,
    Response,
    Route,
    _Handler,
    base_url_of,
    running_server,
    serve_until_stopped,
)

log = logging.getLogger("devstack.simulators.spotify_api")

API_VERSIONS = ("2026", "pre2026")
REAL_API = "https://api.spotify.com"
"""Objects are rendered against the real API's address, then rebased onto the simulator's."""
DEFAULT_CLIENT_ID = "pulse-spotify-sim"
DEFAULT_CLIENT_SECRET = "pulse-spotify-sim-secret"
TOKEN_PATH = "/api/token"
USER_SCOPE = "playlist-read-private user-read-email user-read-private user-read-recently-played"
DEFAULT_LIMIT = 20
ITEMS_MAX_LIMIT = 50
TRACKS_MAX_LIMIT = 100
EMBEDDED_ITEMS_LIMIT = 100
ARTISTS_MAX_IDS = 50
ALBUMS_MAX_IDS = 20
RECENT_MAX_LIMIT = 50
ALBUM_TRACKS_LIMIT = 50
FAULT_RESOURCES = ("token", "playlists", "playlist_items", "artists", "albums", "tracks", "me",
                   "recently_played")
LISTENER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
SPOTIFY_ID = re.compile(r"[0-9A-Za-z]{22}")

FIRST_NAMES = ("Mara", "Jonas", "Ines", "Theo", "Lena", "Kofi", "Amara", "Nils", "Yara", "Felix", "Selma",
               "Rafael", "Noor", "Elio", "Ada", "Milo", "Sanna", "Idris", "Lucia", "Oskar", "Zora", "Emeka",
               "Freya", "Tomas", "Leila", "Anouk", "Dario", "Hana", "Soren", "Iris")
LAST_NAMES = ("Lindqvist", "Okafor", "Moreau", "Varga", "Castell", "Nakamura", "Brandt", "Ferreira",
              "Halloran", "Petrov", "Ambrose", "Kowalski", "Delacroix", "Sato", "Ruiz", "Achterberg",
              "Mensah", "Rossi", "Novak", "Eriksen", "Quinn", "Adeyemi", "Holm", "Fontaine", "Marsh")
STAGE_NAMES = ("Koto", "Saint Lumen", "DJ Parallax", "Nightjar", "Lil Orbit", "Vesper", "MC Solace", "Aurel",
               "Kid Harbor", "Nova Reign", "Yuna Ko", "Tidewell", "Okra", "Juno Vale", "Blue Meridian")
ADJECTIVES = ("Velvet", "Golden", "Silver", "Electric", "Quiet", "Wild", "Neon", "Paper", "Hollow", "Crystal",
              "Midnight", "Northern", "Broken", "Lucky", "Bright", "Lonely", "Purple", "Restless", "Gentle",
              "Distant", "Burning", "Frozen", "Secret", "Endless", "Sunday", "Honey", "Static", "Copper",
              "Faded", "Lunar")
PLURAL_NOUNS = ("Foxes", "Lights", "Rivers", "Machines", "Tides", "Echoes", "Gardens", "Wolves", "Satellites",
                "Horses", "Mirrors", "Kites", "Strangers", "Pilots", "Owls", "Comets", "Waves", "Ghosts",
                "Saints", "Tigers", "Rockets", "Shadows", "Lanterns", "Parades", "Harbors")
NOUNS = ("Heart", "City", "River", "Light", "Dream", "Summer", "Fire", "Ocean", "Night", "Road", "Storm",
         "Home", "Window", "Signal", "Garden", "Moon", "Highway", "Mirror", "Morning", "Island", "Letter",
         "Shadow", "Paradise", "Echo", "Horizon", "Silence", "Gravity", "Daylight", "Harbour", "Memory")
PHRASES = ("All I Need", "Stay With Me", "Don't Look Back", "Nothing Else", "Hold On", "Better Days",
           "Come Home", "Only You", "After Hours", "Say It Again", "Right Now", "Over the Moon",
           "Take Me There", "Never Enough", "Just Like That", "One More Time", "Before You Go",
           "When We Were Young", "Here Comes the Rain", "Somewhere New")
TITLE_SUFFIXES = (" - Acoustic", " - Radio Edit", " - Live", " - Extended Mix", " - Remastered")
GENRES = ("indie pop", "deep house", "neo soul", "bedroom pop", "chillwave", "indietronica",
          "electronic rock", "synthpop", "dream pop", "uk garage", "afrobeats", "latin pop", "jazz fusion",
          "lo-fi beats", "modern rock", "art pop", "nu disco", "melodic techno", "contemporary r&b",
          "folk-pop", "shoegaze", "trip hop", "dancehall", "k-pop", "alternative hip hop", "ambient",
          "french house", "post-punk", "singer-songwriter", "alt z")
LABEL_SUFFIXES = ("Records", "Music", "Recordings", "Sound", "Audio")
PLAYLIST_NAMES = ("Late Night Drive", "Morning Focus", "Sunday Slow Down", "Running Mix", "Indie Discoveries",
                  "Deep Work", "Kitchen Dance Party", "Rainy Day Acoustic", "Weekend Warmup", "Fresh Finds",
                  "Golden Hour", "Road Trip Classics")
PLAYLIST_BLURBS = ("Songs to keep you company.", "Hand-picked and updated weekly.", "No skips needed.",
                   "For when the kettle is on.", "Turn it up.", "")
MARKETS = ("AR", "AU", "AT", "BE", "BR", "CA", "CH", "CL", "CO", "DE", "DK", "ES", "FI", "FR", "GB", "IE",
           "IT", "JP", "MX", "NL", "NO", "NZ", "PL", "PT", "SE", "US")
ISRC_COUNTRIES = ("GB", "US", "SE", "DE", "FR", "NL", "QM", "QZ")
CURATOR = "pulsecurator"

_BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_HEX = "0123456789abcdef"
_DAY_MS = 86_400_000
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_CATALOGUE_START = datetime(2023, 6, 1, tzinfo=UTC)


# --- configuration -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SimulatorConfig:
    """What the simulator serves: its seed and scale, its credentials and listeners, and its faults."""

    seed: int = 42
    artists: int = 40
    playlists: int = 3
    playlist_size: tuple[int, int] = (30, 180)
    """Fewest and most tracks in a playlist."""
    listeners: tuple[str, ...] = ("alice", "bob")
    """Each listener's refresh token is ``refresh-<name>``."""
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = field(default=DEFAULT_CLIENT_SECRET, repr=False)
    api_version: str = "2026"
    token_ttl: float = 3600.0
    """Seconds an access token is accepted."""
    expires_in: int | None = None
    """``expires_in`` of a token answer; default ``token_ttl`` (rounded up). Larger than ``token_ttl``:
    tokens die before the client expects, which is what a client's renew-on-401 is for."""
    recently_played_max: int = 50
    """How many of a listener's newest plays recently played shows (the real API: the last 50)."""
    as_of: datetime | None = None
    """"Now" for recently played; None: the clock."""
    faults: FaultConfig = field(default_factory=FaultConfig)

    def __post_init__(self) -> None:
        if self.api_version not in API_VERSIONS:
            raise ValueError(f"SimulatorConfig.api_version must be one of {API_VERSIONS}, "
                             f"not {self.api_version!r}")
        if self.artists < 2:
            raise ValueError(f"SimulatorConfig.artists must be at least 2, not {self.artists}")
        if self.playlists < 0:
            raise ValueError(f"SimulatorConfig.playlists cannot be negative, not {self.playlists}")
        low, high = self.playlist_size
        if not 1 <= low <= high:
            raise ValueError("SimulatorConfig.playlist_size must be (fewest, most) with 1 <= fewest <= most, "
                             f"not {self.playlist_size!r}")
        object.__setattr__(self, "listeners", tuple(self.listeners))
        for name in self.listeners:
            if not LISTENER_NAME.fullmatch(name):
                raise ValueError(f"listener name {name!r}: use 1-64 letters, digits, '_', '.' or '-'")
        if len(set(self.listeners)) != len(self.listeners):
            raise ValueError(f"listener names repeat: {self.listeners}")
        if self.token_ttl <= 0 or (self.expires_in is not None and self.expires_in < 1):
            raise ValueError("SimulatorConfig.token_ttl must be positive and expires_in at least 1")
        if self.recently_played_max < 0:
            raise ValueError("SimulatorConfig.recently_played_max cannot be negative")
        if isinstance(self.as_of, str):
            object.__setattr__(self, "as_of", datetime.fromisoformat(self.as_of))
        if self.as_of is not None and self.as_of.tzinfo is None:
            object.__setattr__(self, "as_of", self.as_of.replace(tzinfo=UTC))

    @property
    def advertised_expires_in(self) -> int:
        return self.expires_in if self.expires_in is not None else max(1, math.ceil(self.token_ttl))


def refresh_token_of(listener: str) -> str:
    """The refresh token the simulator gives ``listener`` (documented, not a secret)."""
    return f"refresh-{listener}"


# --- deterministic randomness --------------------------------------------------------------------

def _rng(seed: int, *parts: object) -> Random:
    """A random generator that depends on ``(seed, *parts)`` alone."""
    key = "|".join(str(p) for p in (seed, *parts)).encode()
    return Random(int.from_bytes(hashlib.blake2b(key, digest_size=16).digest(), "big"))


def _digits(seed: int, alphabet: str, length: int, *parts: object, bits: int = 512) -> str:
    """``length`` digits in ``alphabet`` of a ``bits``-bit number drawn from ``(seed, *parts)``."""
    key = "|".join(str(p) for p in (seed, *parts)).encode()
    number = int.from_bytes(hashlib.blake2b(key, digest_size=bits // 8).digest(), "big")
    chars = []
    for _ in range(length):
        number, rest = divmod(number, len(alphabet))
        chars.append(alphabet[rest])
    return "".join(reversed(chars))


def spotify_id(seed: int, kind: str, key: object) -> str:
    """A 22-character base62 id, like Spotify's (a 128-bit number in base62)."""
    return _digits(seed, _BASE62, 22, "id", kind, key, bits=128)


def _iso_seconds(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_from_ms(ms: int) -> str:
    """``2026-02-25T20:15:20.497Z`` (what ``played_at`` looks like) from Unix milliseconds."""
    seconds, millis = divmod(ms, 1000)
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S") \
        + f".{millis:03d}Z"


def ms_from_datetime(moment: datetime) -> int:
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(milliseconds=1))


# --- the catalogue -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Artist:
    id: str
    name: str
    genres: tuple[str, ...]
    popularity: int
    followers: int
    image: str


@dataclass(frozen=True, slots=True)
class Album:
    id: str
    name: str
    album_type: str
    artist_ids: tuple[str, ...]
    release_date: str
    release_date_precision: str
    label: str
    popularity: int
    upc: str
    image: str
    track_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Track:
    id: str
    name: str
    album_id: str
    artist_ids: tuple[str, ...]
    duration_ms: int
    explicit: bool
    popularity: int
    isrc: str
    track_number: int


@dataclass(frozen=True, slots=True)
class Playlist:
    id: str
    name: str
    description: str
    followers: int
    snapshot_id: str
    image: str
    entries: tuple[tuple[str, str], ...]
    """``(track id, added_at)`` in playlist order."""


@dataclass(frozen=True, slots=True)
class Listener:
    name: str
    user_id: str
    country: str
    followers: int
    favourite_artists: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Play:
    played_at_ms: int
    track_id: str
    context: tuple[str, str]
    """``(type, id)``: the album, artist or playlist it was played from."""


def _clamp(value: float, low: int, high: int) -> int:
    return int(min(high, max(low, round(value))))


class Catalogue:
    """Everything the simulator serves, as a pure function of the configuration, and the objects of
    the API rendered from it (with ``href``s on :data:`REAL_API`)."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.seed = config.seed
        self.artists: dict[str, Artist] = {}
        self.albums: dict[str, Album] = {}
        self.tracks: dict[str, Track] = {}
        self._make_artists()
        self._make_albums_and_tracks()
        self.playlists: dict[str, Playlist] = {}
        self._make_playlists()
        self.listeners = {name: self._make_listener(name) for name in config.listeners}
        self.listener_by_refresh_token = {refresh_token_of(name): name for name in config.listeners}
        self._plays: dict[tuple[str, int], tuple[Play, ...]] = {}
        self._plays_lock = threading.Lock()

    # generation

    def _make_artists(self) -> None:
        names: set[str] = set()
        for index in range(self.config.artists):
            rng = _rng(self.seed, "artist", index)
            name = ""
            for _ in range(20):
                u = rng.random()
                if u < 0.4:
                    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
                elif u < 0.65:
                    name = f"The {rng.choice(ADJECTIVES)} {rng.choice(PLURAL_NOUNS)}"
                elif u < 0.85:
                    name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
                else:
                    name = rng.choice(STAGE_NAMES)
                if name not in names:
                    break
            else:
                name = f"{name} {index}"
            names.add(name)
            popularity = _clamp(rng.gauss(48, 18), 2, 96)
            genres = () if rng.random() < 0.1 else tuple(rng.sample(GENRES, rng.randint(1, 3)))
            followers = int(10 ** (2 + popularity / 20 + rng.uniform(-0.5, 0.5)))
            artist_id = spotify_id(self.seed, "artist", index)
            image = _digits(self.seed, _HEX, 24, "artist-image", index)
            self.artists[artist_id] = Artist(artist_id, name, genres, popularity, followers, image)

    def _make_albums_and_tracks(self) -> None:
        artist_ids = list(self.artists)
        for a_index, artist_id in enumerate(artist_ids):
            artist = self.artists[artist_id]
            rng = _rng(self.seed, "discography", a_index)
            career_start = rng.randint(1995, 2021)
            label = f"{rng.choice(NOUNS)} {rng.choice(LABEL_SUFFIXES)}"
            registrant = _digits(self.seed, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 3, "isrc", a_index)
            country = rng.choice(ISRC_COUNTRIES)
            count = rng.randint(1, 4)
            years = sorted(rng.randint(career_start, 2025) for _ in range(count))
            for b_index, year in enumerate(years):
                key = f"{a_index}.{b_index}"
                arng = _rng(self.seed, "album", key)
                u = arng.random()
                album_type, n_tracks = (("single", arng.randint(1, 3)) if u < 0.4 else
                                        ("compilation", arng.randint(10, 16)) if u < 0.45 else
                                        ("album", arng.randint(8, 14)))
                month, day = arng.randint(1, 12), arng.randint(1, 28)
                p = arng.random()
                precision, released = (("day", f"{year}-{month:02d}-{day:02d}") if p < 0.85 else
                                       ("month", f"{year}-{month:02d}") if p < 0.95 else ("year", f"{year}"))
                popularity = _clamp(artist.popularity + arng.gauss(0, 10), 0, 100)
                album_id = spotify_id(self.seed, "album", key)
                titles = [self._title(_rng(self.seed, "track-title", key, t)) for t in range(n_tracks)]
                name = titles[0] if album_type == "single" else self._album_title(arng)
                track_ids = []
                for t, title in enumerate(titles):
                    trng = _rng(self.seed, "track", key, t)
                    artists = [artist_id]
                    if trng.random() < 0.12:
                        featured = artist_ids[trng.randrange(len(artist_ids))]
                        if featured != artist_id:
                            artists.append(featured)
                            if trng.random() < 0.5:
                                title = f"{title} (feat. {self.artists[featured].name})"
                    if trng.random() < 0.08:
                        title += trng.choice(TITLE_SUFFIXES)
                    track_id = spotify_id(self.seed, "track", f"{key}.{t}")
                    duration = _clamp(210_000 * math.exp(trng.gauss(0, 0.25)), 90_000, 600_000)
                    isrc = f"{country}{registrant}{year % 100:02d}{trng.randrange(100_000):05d}"
                    self.tracks[track_id] = Track(track_id, title, album_id, tuple(artists), duration,
                                                  trng.random() < 0.15,
                                                  _clamp(popularity + trng.gauss(0, 8), 0, 100), isrc, t + 1)
                    track_ids.append(track_id)
                self.albums[album_id] = Album(
                    album_id, name, album_type, (artist_id,), released, precision, label, popularity,
                    f"{arng.randrange(10**12):012d}", _digits(self.seed, _HEX, 24, "cover", key),
                    tuple(track_ids))

    @staticmethod
    def _title(rng: Random) -> str:
        u = rng.random()
        if u < 0.35:
            return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        if u < 0.55:
            return rng.choice(NOUNS)
        if u < 0.85:
            return rng.choice(PHRASES)
        return f"{rng.choice(NOUNS)} of the {rng.choice(NOUNS)}"

    @staticmethod
    def _album_title(rng: Random) -> str:
        u = rng.random()
        name = (f"{rng.choice(ADJECTIVES)} {rng.choice(PLURAL_NOUNS)}" if u < 0.4 else
                rng.choice(NOUNS) if u < 0.6 else
                f"The {rng.choice(NOUNS)} Sessions" if u < 0.75 else rng.choice(PHRASES))
        return name + (" (Deluxe Edition)" if rng.random() < 0.08 else "")

    def _make_playlists(self) -> None:
        rng = _rng(self.seed, "playlists")
        names = rng.sample(PLAYLIST_NAMES, min(len(PLAYLIST_NAMES), self.config.playlists))
        track_ids = list(self.tracks)
        low, high = self.config.playlist_size
        for index in range(self.config.playlists):
            prng = _rng(self.seed, "playlist", index)
            name = names[index % len(names)]
            if index >= len(names):
                name += f" Vol. {index // len(names) + 1}"
            size = min(prng.randint(low, high), len(track_ids))
            added = _CATALOGUE_START + timedelta(days=prng.randint(0, 120))
            entries = []
            for track_id in prng.sample(track_ids, size):
                added += timedelta(seconds=prng.randint(60, 5 * 86400))
                entries.append((track_id, _iso_seconds(added)))
            playlist_id = spotify_id(self.seed, "playlist", index)
            snapshot = base64.b64encode(hashlib.blake2b(f"{self.seed}|snapshot|{index}".encode(),
                                                        digest_size=24).digest()).decode()
            self.playlists[playlist_id] = Playlist(
                playlist_id, name, prng.choice(PLAYLIST_BLURBS), int(10 ** prng.uniform(0, 5)), snapshot,
                _digits(self.seed, _HEX, 24, "playlist-image", index), tuple(entries))

    def _make_listener(self, name: str) -> Listener:
        rng = _rng(self.seed, "listener", name)
        favourites = tuple(rng.sample(list(self.artists), min(6, len(self.artists))))
        country = rng.choice(("GB", "US", "DE", "SE", "NL", "FR", "BR"))
        return Listener(name, "31" + _digits(self.seed, _BASE36, 26, "user", name), country,
                        rng.randint(0, 400), favourites)

    # listening

    def plays_on(self, listener: str, day: int) -> tuple[Play, ...]:
        """``listener``'s plays on the day with this ordinal, oldest first: a pure function of
        ``(seed, listener, day)``. ``played_at`` is when a play ended (a full play or a skip after 30 s
        or more), as in Spotify's streaming history."""
        key = (listener, day)
        with self._plays_lock:
            cached = self._plays.get(key)
        if cached is not None:
            return cached
        plays = self._generate_plays(self.listeners[listener], day)
        with self._plays_lock:
            if len(self._plays) > 4096:
                self._plays.clear()
            self._plays[key] = plays
        return plays

    def _generate_plays(self, listener: Listener, day: int) -> tuple[Play, ...]:
        rng = _rng(self.seed, "plays", listener.name, day)
        if rng.random() < 0.1:
            return ()
        day_start = (day - _EPOCH_DAY) * _DAY_MS
        day_end = day_start + _DAY_MS
        moment = day_start + rng.randint(6 * 3600, 10 * 3600) * 1000 + rng.randrange(1000)
        plays: list[Play] = []
        for _ in range(rng.choice((1, 2, 2, 3, 3, 4))):
            context, queue = self._session_source(listener, rng)
            for i in range(rng.randint(3, 18)):
                track = self.tracks[queue[i % len(queue)]]
                heard = track.duration_ms if rng.random() < 0.85 else max(30_000, int(track.duration_ms *
                                                                                     rng.uniform(0.1, 0.6)))
                moment += heard + rng.randint(150, 2500)
                if moment >= day_end:
                    return tuple(plays)
                plays.append(Play(moment, track.id, context))
            moment += rng.randint(20 * 60, 4 * 3600) * 1000
        return tuple(p for p in plays if p.played_at_ms < day_end)

    def _session_source(self, listener: Listener, rng: Random) -> tuple[tuple[str, str], list[str]]:
        """Where a listening session plays from: a playlist (in order from some track), one of the
        listener's favourite artists' albums (from its first track), or that artist (shuffled)."""
        u = rng.random()
        if self.playlists and u < 0.45:
            playlist = self.playlists[rng.choice(list(self.playlists))]
            tracks = [track_id for track_id, _ in playlist.entries]
            start = rng.randrange(len(tracks))
            return ("playlist", playlist.id), tracks[start:] + tracks[:start]
        artist_id = rng.choice(listener.favourite_artists)
        albums = [a for a in self.albums.values() if a.artist_ids[0] == artist_id]
        if u < 0.75:
            album = rng.choice(albums)
            return ("album", album.id), list(album.track_ids)
        tracks = [t for a in albums for t in a.track_ids]
        rng.shuffle(tracks)
        return ("artist", artist_id), tracks

    def recent_plays(self, listener: str, as_of_ms: int) -> list[Play]:
        """The listener's newest plays up to ``as_of_ms``, newest first: at most ``recently_played_max``."""
        wanted = self.config.recently_played_max
        found: list[Play] = []
        day = _EPOCH_DAY + as_of_ms // _DAY_MS
        for back in range(400):
            if len(found) >= wanted:
                break
            plays = self.plays_on(listener, day - back)
            found.extend(p for p in reversed(plays) if p.played_at_ms <= as_of_ms)
        return found[:wanted]

    # rendering

    @staticmethod
    def _external(kind: str, object_id: str) -> dict:
        return {"spotify": f"https://open.spotify.com/{kind}/{object_id}"}

    def artist_simple(self, artist_id: str) -> dict:
        artist = self.artists[artist_id]
        return {"external_urls": self._external("artist", artist_id),
                "href": f"{REAL_API}/v1/artists/{artist_id}", "id": artist_id, "name": artist.name,
                "type": "artist", "uri": f"spotify:artist:{artist_id}"}

    def artist_object(self, artist_id: str) -> dict:
        a = self.artists[artist_id]
        images = [{"url": f"https://i.scdn.co/image/{prefix}{a.image}", "height": size, "width": size}
                  for prefix, size in (("ab6761610000e5eb", 640), ("ab67616100005174", 320),
                                       ("ab6761610000f178", 160))]
        return {"external_urls": self._external("artist", a.id),
                "followers": {"href": None, "total": a.followers}, "genres": list(a.genres),
                "href": f"{REAL_API}/v1/artists/{a.id}", "id": a.id, "images": images, "name": a.name,
                "popularity": a.popularity, "type": "artist", "uri": f"spotify:artist:{a.id}"}

    @staticmethod
    def _album_images(album: Album) -> list[dict]:
        return [{"height": size, "url": f"https://i.scdn.co/image/{prefix}{album.image}", "width": size}
                for prefix, size in (("ab67616d0000b273", 640), ("ab67616d00001e02", 300),
                                     ("ab67616d00004851", 64))]

    def album_simple(self, album_id: str) -> dict:
        a = self.albums[album_id]
        return {"album_type": a.album_type, "artists": [self.artist_simple(i) for i in a.artist_ids],
                "available_markets": list(MARKETS), "external_urls": self._external("album", a.id),
                "href": f"{REAL_API}/v1/albums/{a.id}", "id": a.id, "images": self._album_images(a),
                "name": a.name, "release_date": a.release_date,
                "release_date_precision": a.release_date_precision, "total_tracks": len(a.track_ids),
                "type": "album", "uri": f"spotify:album:{a.id}"}

    def album_object(self, album_id: str) -> dict:
        a = self.albums[album_id]
        url = f"{REAL_API}/v1/albums/{a.id}/tracks"
        tracks = [self.track_simple(t) for t in a.track_ids]
        year = a.release_date[:4]
        return {"album_type": a.album_type, "total_tracks": len(a.track_ids),
                "available_markets": list(MARKETS), "external_urls": self._external("album", a.id),
                "href": f"{REAL_API}/v1/albums/{a.id}", "id": a.id, "images": self._album_images(a),
                "name": a.name, "release_date": a.release_date,
                "release_date_precision": a.release_date_precision, "type": "album",
                "uri": f"spotify:album:{a.id}",
                "artists": [self.artist_simple(i) for i in a.artist_ids],
                "tracks": {"href": f"{url}?offset=0&limit={ALBUM_TRACKS_LIMIT}", "limit": ALBUM_TRACKS_LIMIT,
                           "next": (f"{url}?offset={ALBUM_TRACKS_LIMIT}&limit={ALBUM_TRACKS_LIMIT}"
                                    if len(tracks) > ALBUM_TRACKS_LIMIT else None),
                           "offset": 0, "previous": None, "total": len(tracks),
                           "items": tracks[:ALBUM_TRACKS_LIMIT]},
                "copyrights": [{"text": f"© {year} {a.label}", "type": "C"},
                               {"text": f"℗ {year} {a.label}", "type": "P"}],
                "external_ids": {"upc": a.upc}, "genres": [], "label": a.label, "popularity": a.popularity}

    def track_simple(self, track_id: str) -> dict:
        t = self.tracks[track_id]
        return {"artists": [self.artist_simple(i) for i in t.artist_ids], "available_markets": list(MARKETS),
                "disc_number": 1, "duration_ms": t.duration_ms, "explicit": t.explicit,
                "external_urls": self._external("track", t.id), "href": f"{REAL_API}/v1/tracks/{t.id}",
                "id": t.id, "name": t.name, "preview_url": None, "track_number": t.track_number,
                "type": "track", "uri": f"spotify:track:{t.id}", "is_local": False}

    def track_object(self, track_id: str, in_playlist: bool = False) -> dict:
        """A full track object; in a playlist it also carries the legacy ``episode``/``track`` flags, as
        the real playlist bodies do."""
        t = self.tracks[track_id]
        obj = {"album": self.album_simple(t.album_id),
               "artists": [self.artist_simple(i) for i in t.artist_ids], "available_markets": list(MARKETS),
               "disc_number": 1, "duration_ms": t.duration_ms}
        if in_playlist:
            obj["episode"] = False
        obj.update({"explicit": t.explicit, "external_ids": {"isrc": t.isrc},
                    "external_urls": self._external("track", t.id), "href": f"{REAL_API}/v1/tracks/{t.id}",
                    "id": t.id, "is_local": False, "name": t.name, "popularity": t.popularity,
                    "preview_url": None})
        if in_playlist:
            obj["track"] = True
        obj.update({"track_number": t.track_number, "type": "track", "uri": f"spotify:track:{t.id}"})
        return obj

    @staticmethod
    def curator(display_name: bool = True) -> dict:
        user = {"display_name": "Pulse Curator"} if display_name else {}
        return {**user, "external_urls": {"spotify": f"https://open.spotify.com/user/{CURATOR}"},
                "href": f"{REAL_API}/v1/users/{CURATOR}", "id": CURATOR, "type": "user",
                "uri": f"spotify:user:{CURATOR}"}

    def playlist_entry(self, track_id: str, added_at: str, version: str) -> dict:
        """A playlist-track object; the 2026 shape has the item under ``item`` and (deprecated) ``track``."""
        track = self.track_object(track_id, in_playlist=True)
        entry = {"added_at": added_at, "added_by": self.curator(display_name=False), "is_local": False,
                 "primary_color": None, "track": track}
        if version == "2026":
            entry["item"] = track
        entry["video_thumbnail"] = {"url": None}
        return entry

    def playlist_object(self, playlist_id: str, pagings: Mapping[str, dict]) -> dict:
        """The playlist object, with ``pagings`` (``tracks`` and, in 2026, ``items``: the first page of
        the entries) embedded."""
        p = self.playlists[playlist_id]
        return {"collaborative": False, "description": p.description,
                "external_urls": self._external("playlist", p.id),
                "followers": {"href": None, "total": p.followers},
                "href": f"{REAL_API}/v1/playlists/{p.id}", "id": p.id,
                "images": [{"height": None, "url": f"https://i.scdn.co/image/ab67706c0000da84{p.image}",
                            "width": None}],
                "name": p.name, "owner": self.curator(), "primary_color": None, "public": True,
                "snapshot_id": p.snapshot_id, **pagings, "type": "playlist",
                "uri": f"spotify:playlist:{p.id}"}

    def user_object(self, listener: str) -> dict:
        user = self.listeners[listener]
        return {"country": user.country, "display_name": listener.capitalize(),
                "email": f"{listener}@example.com",
                "explicit_content": {"filter_enabled": False, "filter_locked": False},
                "external_urls": self._external("user", user.user_id),
                "followers": {"href": None, "total": user.followers},
                "href": f"{REAL_API}/v1/users/{user.user_id}", "id": user.user_id, "images": [],
                "product": "premium", "type": "user", "uri": f"spotify:user:{user.user_id}"}

    def play_history_object(self, play: Play) -> dict:
        kind, object_id = play.context
        return {"track": self.track_object(play.track_id), "played_at": iso_from_ms(play.played_at_ms),
                "context": {"type": kind, "external_urls": self._external(kind, object_id),
                            "href": f"{REAL_API}/v1/{kind}s/{object_id}",
                            "uri": f"spotify:{kind}:{object_id}"}}

    def referenced_ids(self, track_ids: list[str]) -> tuple[list[str], list[str]]:
        """The artists (of the tracks and of their albums) and the albums that tracks refer to, in the
        order first seen."""
        artists: dict[str, None] = {}
        albums: dict[str, None] = {}
        for track_id in track_ids:
            track = self.tracks[track_id]
            artists.update(dict.fromkeys(track.artist_ids))
            albums[track.album_id] = None
            artists.update(dict.fromkeys(self.albums[track.album_id].artist_ids))
        return list(artists), list(albums)


# --- HTTP: what JsonApi does not carry -----------------------------------------------------------

@dataclass(frozen=True)
class Exchange:
    """A request's method, headers and body: :mod:`devstack.simulators.http_server` hands handlers the
    method and target only, and this API needs ``Authorization``, ``Host`` and the token form."""

    method: str
    headers: Mapping[str, str]
    body: bytes = b""
    server_url: str = "http://127.0.0.1"
    """The server's own address, for a request without ``Host``."""


_EXCHANGE: ContextVar[Exchange | None] = ContextVar("spotify_exchange", default=None)
_MAX_BODY = 64 * 1024


def current_exchange() -> Exchange:
    return _EXCHANGE.get() or Exchange("GET", {})


class _ExchangeHandler(_Handler):
    """http_server's handler, reading the headers and body of each request into :class:`Exchange`."""

    def _serve(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        whole = 0 <= length <= _MAX_BODY
        body = self.rfile.read(length) if whole and length else b""
        keep_alive = not self.close_connection
        token = _EXCHANGE.set(Exchange(self.command, self.headers, body, base_url_of(self.server)))
        try:
            super()._serve()  # closes the connection after any request but GET and HEAD
        finally:
            _EXCHANGE.reset(token)
        if whole and keep_alive:
            # the body was read, so the connection can serve the next request: without this, a client
            # that keeps it alive (it is not told otherwise) finds it closed under its next request
            self.close_connection = False

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class _SpotifyJsonApi(JsonApi):
    """A JsonApi whose token route takes POST (JsonApi answers GET and HEAD only)."""

    post_patterns: frozenset[str] = frozenset({re.escape(TOKEN_PATH)})

    def _respond(self, route: Route | None, request: Request, decision: FaultDecision) -> Response:
        if route is not None and route.pattern.pattern in self.post_patterns and request.method == "POST":
            request = replace(request, method="GET")  # past JsonApi's GET-only check; the handler checks
        return super()._respond(route, request, decision)


# --- tokens --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Grant:
    listener: str | None
    """None: an app token (client credentials)."""
    expires_at: float


class TokenStore:
    """Access tokens issued and when each stops being accepted (monotonic clock). Thread-safe."""

    def __init__(self, seed: int, ttl: float) -> None:
        self.seed, self.ttl = seed, ttl
        self._grants: dict[str, Grant] = {}
        self._issued = 0
        self._lock = threading.Lock()

    def issue(self, listener: str | None) -> str:
        with self._lock:
            now = time.monotonic()
            self._issued += 1
            token = "BQ" + _digits(self.seed, _BASE62, 70, "token", self._issued, listener)
            if len(self._grants) > 10_000:
                self._grants = {t: g for t, g in self._grants.items() if g.expires_at > now}
            self._grants[token] = Grant(listener, now + self.ttl)
            return token

    def find(self, token: str) -> Grant | None:
        with self._lock:
            return self._grants.get(token)


def _oauth_error(status: int, error: str, description: str,
                 headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps({"error": error, "error_description": description}).encode()
    return Response(body, status, dict(headers or {}), note=error)


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


# --- the API -------------------------------------------------------------------------------------

_PLAYLIST_PAGED = re.compile(r"/v1/playlists/[^/]+/(items|tracks)")
_FAULT_RESOURCE = {"/api/token": "token", "/v1/me": "me", "/v1/me/player/recently-played": "recently_played"}


def fault_target(request: Request) -> tuple[str, int] | None:
    """The ``(resource, page)`` of a request, for ``broken_pages`` (resources: :data:`FAULT_RESOURCES`)."""
    path, query = request.path, request.query
    if _PLAYLIST_PAGED.fullmatch(path):
        try:
            offset, limit = int(query.get("offset", 0)), max(1, int(query.get("limit", DEFAULT_LIMIT)))
            return "playlist_items", offset // limit + 1
        except ValueError:
            return None
    if path in _FAULT_RESOURCE:
        resource = _FAULT_RESOURCE[path]
        return resource, 2 if resource == "recently_played" and ("before" in query or "after" in query) else 1
    parts = path.split("/")
    if len(parts) >= 3 and parts[1] == "v1" and parts[2] in ("playlists", "artists", "albums", "tracks"):
        return parts[2], 1
    return None


def _int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, f"Invalid {name}") from None
    if not low <= value <= high:
        raise ApiError(400, f"Invalid {name}")
    return value


def _paging(url: str, texts: list[str], offset: int, limit: int) -> str:
    """An offset paging object over JSON texts, as JSON text (``href``, ``next``, ``previous`` absolute)."""
    total = len(texts)
    nxt = f"{url}?offset={offset + limit}&limit={limit}" if offset + limit < total else None
    previous = f"{url}?offset={max(0, offset - limit)}&limit={limit}" if offset > 0 else None
    return (f'{{"href": {json.dumps(f"{url}?offset={offset}&limit={limit}")}, '
            f'"items": [{", ".join(texts[offset:offset + limit])}], "limit": {limit}, '
            f'"next": {json.dumps(nxt)}, "offset": {offset}, "previous": {json.dumps(previous)}, '
            f'"total": {total}}}')


@dataclass(frozen=True)
class _Served:
    """A paged list as served, noise included: JSON texts, what each is, and (recently played) the
    time each is paged by (an extra record goes with the true one it copies)."""

    texts: list[str]
    kinds: bytes
    times: list[int] = field(default_factory=list)

    def note(self, first: int, last: int) -> str:
        kinds = self.kinds[first:last]
        extras = [f"{kinds.count(k)} {k.name.lower()}" for k in Noise if k and kinds.count(k)]
        return f"{last - first} items" + (f" ({', '.join(extras)})" if extras else "")


class SpotifyApiSimulator:
    """The HTTP face of a :class:`Catalogue`: tokens, auth, the API versions, paging and noise."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        started = time.perf_counter()
        self.catalogue = Catalogue(config)
        self.tokens = TokenStore(config.seed, config.token_ttl)
        self._served_items: dict[str, _Served] = {}
        self._lock = threading.Lock()
        c = self.catalogue
        log.info("spotify API simulator: seed %d, API %s, %d artists, %d albums, %d tracks, %d playlists, "
                 "listeners %s (%.2fs), faults: %s", config.seed, config.api_version, len(c.artists),
                 len(c.albums), len(c.tracks), len(c.playlists), ", ".join(config.listeners) or "none",
                 time.perf_counter() - started, config.faults.describe())
        api = _SpotifyJsonApi("spotify_api", faults=config.faults, seed=config.seed, logger=log,
                              fault_target=fault_target)
        api.route(r"/health", self.health, faults=False)
        api.route(re.escape(TOKEN_PATH), self.token)
        api.route(r"/v1/playlists/(?P<playlist_id>[^/]+)", self.playlist)
        api.route(r"/v1/playlists/(?P<playlist_id>[^/]+)/items", self.playlist_items)
        api.route(r"/v1/playlists/(?P<playlist_id>[^/]+)/tracks", self.playlist_tracks)
        api.route(r"/v1/artists", self.several_artists)
        api.route(r"/v1/artists/(?P<artist_id>[^/]+)", self.artist)
        api.route(r"/v1/albums", self.several_albums)
        api.route(r"/v1/albums/(?P<album_id>[^/]+)", self.album)
        api.route(r"/v1/tracks/(?P<track_id>[^/]+)", self.track)
        api.route(r"/v1/me", self.me)
        api.route(r"/v1/me/player/recently-played", self.recently_played)
        api.route(r"/v1(/.*)?", self.no_such_service)
        self.api = api

    def banner(self) -> list[str]:
        """What to put in the ``spotify_api`` connection, for the start-up log."""
        lines = [f"client id {self.config.client_id} (secret: --client-secret; token URL <base>{TOKEN_PATH})",
                 f"playlist_ids: {','.join(self.catalogue.playlists) or '(none)'}"]
        lines += [f"listener {name}: refresh_token {refresh_token_of(name)}"
                  for name in self.config.listeners]
        return lines

    @contextmanager
    def serving(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve from a background thread; yields the base URL. Stopped on exit."""
        with running_server(self.api, host, port, _ExchangeHandler) as base_url:
            yield base_url

    # helpers

    @staticmethod
    def _base_url() -> str:
        """The simulator's address as the client sees it (its ``Host``), for hrefs and paging links."""
        exchange = current_exchange()
        host = exchange.headers.get("Host") or ""
        return f"http://{host}" if re.fullmatch(r"[A-Za-z0-9.\-:\[\]]{1,255}", host) else exchange.server_url

    def _answer(self, body: Any, note: str = "") -> Response:
        text = body if isinstance(body, str) else json.dumps(body)
        return Response(text.replace(REAL_API, self._base_url()).encode(), note=note)

    def _authorize(self, user: bool = False) -> Grant:
        """The grant of the request's bearer token, or the 401/403 the real API answers."""
        header = current_exchange().headers.get("Authorization")
        if not header:
            raise ApiError(401, "No token provided", {"WWW-Authenticate": 'Bearer realm="spotify"'})
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(400, "Only valid bearer authentication supported")
        grant = self.tokens.find(token.strip())
        if grant is None:
            raise ApiError(401, "Invalid access token",
                           _www_authenticate("invalid_token", "Invalid access token"))
        if time.monotonic() >= grant.expires_at:
            raise ApiError(401, "The access token expired",
                           _www_authenticate("invalid_token", "The access token expired"))
        if user and grant.listener is None:
            raise ApiError(403, "Insufficient client scope")
        return grant

    def _deprecated(self, what: str) -> None:
        if self.config.api_version == "2026":
            log.debug("%s is deprecated in the 2026 API: 403 (as Development Mode apps get)", what)
            raise ApiError(403, "Forbidden")

    @staticmethod
    def _known(table: Mapping[str, Any], object_id: str) -> None:
        if not SPOTIFY_ID.fullmatch(object_id):
            raise ApiError(400, "Invalid base62 id")
        if object_id not in table:
            raise ApiError(404, "Resource not found")

    def _ids(self, request: Request, most: int) -> list[str]:
        text = request.query.get("ids", "")
        ids = [i.strip() for i in text.split(",") if i.strip()]
        if not ids:
            raise ApiError(400, "Missing required parameter: ids")
        if len(ids) > most:
            raise ApiError(400, "Too many ids requested")
        if not all(SPOTIFY_ID.fullmatch(i) for i in ids):
            raise ApiError(400, "Invalid base62 id")
        return ids

    # handlers

    def health(self, request: Request) -> dict:
        return {"status": "ok"}

    def no_such_service(self, request: Request) -> Response:
        raise ApiError(404, "Service not found")

    def token(self, request: Request) -> Response:
        exchange = current_exchange()
        if exchange.method != "POST":
            return _oauth_error(405, "invalid_request", f"{exchange.method} is not supported: use POST",
                                {"Allow": "POST"})
        form = dict(parse_qsl(exchange.body.decode("utf-8", "replace"), keep_blank_values=True))
        client_id, secret = (_basic_credentials(exchange.headers.get("Authorization"))
                             or (form.get("client_id", ""), form.get("client_secret", "")))
        if not hmac.compare_digest(client_id.encode(), self.config.client_id.encode()):
            return _oauth_error(400, "invalid_client", "Invalid client")
        if not hmac.compare_digest(secret.encode(), self.config.client_secret.encode()):
            return _oauth_error(400, "invalid_client", "Invalid client secret")
        grant_type = form.get("grant_type")
        if not grant_type:
            return _oauth_error(400, "unsupported_grant_type", "grant_type parameter is missing")
        if grant_type == "client_credentials":
            listener, scope = None, ""
        elif grant_type == "refresh_token":
            listener = self.catalogue.listener_by_refresh_token.get(form.get("refresh_token", ""))
            if listener is None:
                return _oauth_error(400, "invalid_grant", "Invalid refresh token")
            scope = USER_SCOPE
        else:
            return _oauth_error(400, "unsupported_grant_type",
                                "grant_type must be client_credentials, authorization_code or refresh_token")
        body = {"access_token": self.tokens.issue(listener), "token_type": "Bearer",
                "expires_in": self.config.advertised_expires_in, "scope": scope}
        return Response(json.dumps(body).encode(), headers={"Cache-Control": "no-store"},
                        note=f"{grant_type} token" + (f" for {listener}" if listener else ""))

    def playlist(self, request: Request) -> Response:
        self._authorize()
        playlist_id = request.params["playlist_id"]
        self._known(self.catalogue.playlists, playlist_id)
        served = self.served_items(playlist_id)
        url = f"{REAL_API}/v1/playlists/{playlist_id}"
        pagings = {"tracks": json.loads(_paging(f"{url}/tracks", served.texts, 0, EMBEDDED_ITEMS_LIMIT))}
        if self.config.api_version == "2026":
            pagings["items"] = json.loads(_paging(f"{url}/items", served.texts, 0, EMBEDDED_ITEMS_LIMIT))
        return self._answer(self.catalogue.playlist_object(playlist_id, pagings),
                            note=served.note(0, min(len(served.texts), EMBEDDED_ITEMS_LIMIT)))

    def playlist_items(self, request: Request) -> Response:
        if self.config.api_version == "pre2026":
            raise ApiError(404, "Service not found")
        self._authorize()
        return self._playlist_page(request, "items", ITEMS_MAX_LIMIT)

    def playlist_tracks(self, request: Request) -> Response:
        self._authorize()
        self._deprecated("GET /v1/playlists/{id}/tracks")
        return self._playlist_page(request, "tracks", TRACKS_MAX_LIMIT)

    def _playlist_page(self, request: Request, kind: str, most: int) -> Response:
        playlist_id = request.params["playlist_id"]
        self._known(self.catalogue.playlists, playlist_id)
        limit = _int_param(request.query, "limit", DEFAULT_LIMIT, 1, most)
        offset = _int_param(request.query, "offset", 0, 0, 10**9)
        served = self.served_items(playlist_id)
        body = _paging(f"{REAL_API}/v1/playlists/{playlist_id}/{kind}", served.texts, offset, limit)
        last = min(len(served.texts), offset + limit)
        return self._answer(body, note=served.note(min(offset, last), last))

    def served_items(self, playlist_id: str) -> _Served:
        """A playlist's entries as served (noise included), generated once."""
        with self._lock:
            cached = self._served_items.get(playlist_id)
        if cached is not None:
            return cached
        version = self.config.api_version
        playlist = self.catalogue.playlists[playlist_id]
        entries = [self.catalogue.playlist_entry(track_id, added_at, version)
                   for track_id, added_at in playlist.entries]
        item_field = "item" if version == "2026" else "track"
        shape = RecordShape(f"playlist_items:{playlist_id}", ("added_at",),
                            {"added_at": "timestamp", item_field: "str"})
        texts, kinds = [], bytearray()
        for kind, record in noisy_records(entries, shape, self.config.faults, self.config.seed):
            if kind is Noise.MALFORMED and ("item" in record) != ("track" in record):
                record.pop("item", None)  # a copy that lost its item must not keep it under the old name
                record.pop("track", None)
            texts.append(json.dumps(record))
            kinds.append(kind)
        served = _Served(texts, bytes(kinds))
        with self._lock:
            self._served_items[playlist_id] = served
        return served

    def several_artists(self, request: Request) -> Response:
        self._authorize()
        self._deprecated("GET /v1/artists?ids=")
        ids = self._ids(request, ARTISTS_MAX_IDS)
        artists = self.catalogue.artists
        found = [self.catalogue.artist_object(i) if i in artists else None for i in ids]
        return self._answer({"artists": found}, note=f"{len(ids)} artists")

    def artist(self, request: Request) -> Response:
        self._authorize()
        artist_id = request.params["artist_id"]
        self._known(self.catalogue.artists, artist_id)
        return self._answer(self.catalogue.artist_object(artist_id))

    def several_albums(self, request: Request) -> Response:
        self._authorize()
        self._deprecated("GET /v1/albums?ids=")
        ids = self._ids(request, ALBUMS_MAX_IDS)
        albums = self.catalogue.albums
        found = [self.catalogue.album_object(i) if i in albums else None for i in ids]
        return self._answer({"albums": found}, note=f"{len(ids)} albums")

    def album(self, request: Request) -> Response:
        self._authorize()
        album_id = request.params["album_id"]
        self._known(self.catalogue.albums, album_id)
        return self._answer(self.catalogue.album_object(album_id))

    def track(self, request: Request) -> Response:
        self._authorize()
        track_id = request.params["track_id"]
        self._known(self.catalogue.tracks, track_id)
        return self._answer(self.catalogue.track_object(track_id))

    def me(self, request: Request) -> Response:
        grant = self._authorize(user=True)
        return self._answer(self.catalogue.user_object(grant.listener))

    def recently_played(self, request: Request) -> Response:
        grant = self._authorize(user=True)
        query = request.query
        limit = _int_param(query, "limit", DEFAULT_LIMIT, 1, RECENT_MAX_LIMIT)
        if "before" in query and "after" in query:
            raise ApiError(400, "Only one of 'before' or 'after' may be given")
        before = _int_param(query, "before", 0, 0, 10**15) if "before" in query else None
        after = _int_param(query, "after", 0, 0, 10**15) if "after" in query else None
        served = self.served_recent(grant.listener)
        order = range(len(served.texts))
        if after is not None:
            newer = [i for i in order if served.times[i] > after]
            page, more = newer[-limit:], len(newer) > limit
        else:
            older = [i for i in order if before is None or served.times[i] < before]
            page, more = older[:limit], len(older) > limit
        url = f"{REAL_API}/v1/me/player/recently-played"
        cursors = nxt = None
        if page:
            newest, oldest = served.times[page[0]], served.times[page[-1]]
            cursors = {"after": str(newest), "before": str(oldest)}
            if more:
                cursor = f"after={newest}" if after is not None else f"before={oldest}"
                nxt = f"{url}?{cursor}&limit={limit}"
        body = (f'{{"items": [{", ".join(served.texts[i] for i in page)}], "next": {json.dumps(nxt)}, '
                f'"cursors": {json.dumps(cursors)}, "limit": {limit}, '
                f'"href": {json.dumps(REAL_API + request.target)}}}')
        kinds = bytes(served.kinds[i] for i in page)
        return self._answer(body, note=_Served([], kinds).note(0, len(page)))

    def served_recent(self, listener: str) -> _Served:
        """The listener's visible plays, newest first, noise included."""
        as_of = self.config.as_of or datetime.now(UTC)
        plays = self.catalogue.recent_plays(listener, ms_from_datetime(as_of))
        records = [self.catalogue.play_history_object(p) for p in plays]
        time_of = {id(r): p.played_at_ms for r, p in zip(records, plays, strict=True)}
        shape = RecordShape(f"recently_played:{listener}", ("played_at",),
                            {"played_at": "timestamp", "track": "str"})
        texts, kinds, times = [], bytearray(), []
        current = plays[0].played_at_ms if plays else 0
        for kind, record in noisy_records(records, shape, self.config.faults, self.config.seed):
            if kind is Noise.TRUE:
                current = time_of[id(record)]
            texts.append(json.dumps(record))
            kinds.append(kind)
            times.append(current)
        return _Served(texts, bytes(kinds), times)


def _www_authenticate(error: str, description: str) -> dict[str, str]:
    return {"WWW-Authenticate": f'Bearer realm="spotify", error="{error}", error_description="{description}"'}


@contextmanager
def running_simulator(config: SimulatorConfig | None = None, host: str = "127.0.0.1",
                      port: int = 0) -> Iterator[str]:
    """Serve the simulator from a background thread on ``host:port`` (0: a free port).

    Yields the base URL, ``http://127.0.0.1:<port>`` (the API is under ``/v1``, the token endpoint at
    ``/api/token``); the server stops on exit."""
    with SpotifyApiSimulator(config or SimulatorConfig()).serving(host, port) as base_url:
        yield base_url


# --- command line --------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, SimulatorConfig]:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.simulators.spotify_api",
        description="Serve the Spotify Web API simulator until SIGTERM or SIGINT.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--listener", action="append", default=[], metavar="NAME",
                        help="a listener (repeatable); their refresh token is refresh-NAME")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument("--api-version", choices=API_VERSIONS, default="2026")
    parser.add_argument("--artists", type=int, default=40)
    parser.add_argument("--playlists", type=int, default=3)
    parser.add_argument("--token-ttl", type=float, default=3600.0, help="seconds an access token is accepted")
    parser.add_argument("--expires-in", type=int,
                        help="expires_in of token answers (default: the TTL); larger: tokens die early")
    parser.add_argument("--recently-played-max", type=int, default=50,
                        help="how many newest plays recently played shows")
    parser.add_argument("--as-of", type=datetime.fromisoformat,
                        help="'now' for recently played (ISO-8601; default: the clock)")
    add_fault_arguments(parser, FAULT_RESOURCES, "true playlist items and plays", late_updates=False)
    return parse_simulator_args(parser, argv, lambda args, faults: SimulatorConfig(
        seed=args.seed, artists=args.artists, playlists=args.playlists, listeners=tuple(args.listener),
        client_id=args.client_id, client_secret=args.client_secret, api_version=args.api_version,
        token_ttl=args.token_ttl, expires_in=args.expires_in, recently_played_max=args.recently_played_max,
        as_of=args.as_of, faults=faults))


def main(argv: list[str] | None = None) -> None:
    args, config = parse_args(argv)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(message)s")
    simulator = SpotifyApiSimulator(config)
    serve_until_stopped(simulator.api, args.host, args.port, simulator.banner(), _ExchangeHandler)


if __name__ == "__main__":
    main()
