"""The Spotify Web API simulator, over real HTTP: the accounts service's token endpoint, bearer auth,
the 2026 and pre-2026 APIs, paging, objects shaped like the real bodies and valid against the OpenAPI
specs (../shared/realdata/spotify/), and faults that only ever add noise."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests
import yaml
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from devstack.simulators.faults import FaultConfig
from devstack.simulators.spotify_api import (
    GENRES,
    Catalogue,
    SimulatorConfig,
    SpotifyApiSimulator,
    iso_from_ms,
    ms_from_datetime,
    running_simulator,
)

REPO = Path(__file__).resolve().parents[2]
AS_OF = datetime(2026, 3, 1, 18, 30, tzinfo=UTC)
SMALL = dict(seed=7, artists=12, playlists=2, playlist_size=(60, 75), as_of=AS_OF)
CLIENT = ("pulse-spotify-sim", "pulse-spotify-sim-secret")
APP_GRANT = {"grant_type": "client_credentials"}
BASE62_ID = re.compile(r"[0-9A-Za-z]{22}")


# --- helpers ---------------------------------------------------------------------------------------

class Api:
    """A running simulator and what a test needs of it: its URL, its data, and tokens."""

    def __init__(self, simulator: SpotifyApiSimulator, base_url: str) -> None:
        self.simulator, self.catalogue, self.base = simulator, simulator.catalogue, base_url
        self.session = requests.Session()

    def token(self, listener: str | None = None) -> str:
        form = ({"grant_type": "refresh_token", "refresh_token": f"refresh-{listener}"} if listener
                else {"grant_type": "client_credentials"})
        answer = self.session.post(f"{self.base}/api/token", data=form, auth=CLIENT, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()["access_token"]

    def get(self, path: str, token: str | None = None, **params) -> requests.Response:
        url = path if path.startswith("http") else f"{self.base}{path}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.session.get(url, params=params or None, headers=headers, timeout=30)

    def pages(self, path: str, token: str, **params) -> list[dict]:
        """Every page from ``path``, following ``next``."""
        bodies, answer = [], self.get(path, token, **params)
        while True:
            assert answer.status_code == 200, answer.text
            bodies.append(answer.json())
            if not bodies[-1]["next"]:
                return bodies
            answer = self.get(bodies[-1]["next"], token)


@pytest.fixture(scope="module")
def api():
    simulator = SpotifyApiSimulator(SimulatorConfig(**SMALL))
    with simulator.serving() as base_url:
        yield Api(simulator, base_url)


@pytest.fixture(scope="module")
def old_api():
    simulator = SpotifyApiSimulator(SimulatorConfig(**SMALL, api_version="pre2026"))
    with simulator.serving() as base_url:
        yield Api(simulator, base_url)


@pytest.fixture(scope="module")
def app_token(api) -> str:
    return api.token()


@pytest.fixture(scope="module")
def alice(api) -> str:
    return api.token("alice")


def error_of(answer: requests.Response) -> tuple[int, str]:
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"status", "message"}, body
    assert body["error"]["status"] == answer.status_code
    return answer.status_code, body["error"]["message"]


# --- the accounts service --------------------------------------------------------------------------

def test_client_credentials_answer_a_bearer_token_with_its_lifetime(api):
    answer = api.session.post(f"{api.base}/api/token", data=APP_GRANT, auth=CLIENT)
    body = answer.json()
    assert answer.status_code == 200 and set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == ""
    assert isinstance(body["access_token"], str) and len(body["access_token"]) > 40


def test_a_refresh_token_answers_the_listeners_token_with_the_user_scopes(api):
    form = {"grant_type": "refresh_token", "refresh_token": "refresh-bob"}
    body = api.session.post(f"{api.base}/api/token", data=form, auth=CLIENT).json()
    assert body["token_type"] == "Bearer" and "user-read-recently-played" in body["scope"].split()
    me = api.get("/v1/me", body["access_token"]).json()
    assert me["display_name"] == "Bob" and me["id"] == api.catalogue.listeners["bob"].user_id


def test_client_credentials_in_the_form_body_are_accepted_too(api):
    form = {"grant_type": "client_credentials", "client_id": CLIENT[0], "client_secret": CLIENT[1]}
    assert api.session.post(f"{api.base}/api/token", data=form).status_code == 200


@pytest.mark.parametrize("auth, form, error, description", [
    (("someone-else", CLIENT[1]), {"grant_type": "client_credentials"}, "invalid_client", "Invalid client"),
    ((CLIENT[0], "wrong"), {"grant_type": "client_credentials"}, "invalid_client", "Invalid client secret"),
    (None, {"grant_type": "client_credentials"}, "invalid_client", "Invalid client"),
    (CLIENT, {"grant_type": "refresh_token", "refresh_token": "refresh-mallory"}, "invalid_grant",
     "Invalid refresh token"),
    (CLIENT, {}, "unsupported_grant_type", "grant_type parameter is missing"),
    (CLIENT, {"grant_type": "password"}, "unsupported_grant_type", None),
], ids=["unknown-client", "wrong-secret", "no-credentials", "unknown-refresh-token", "no-grant", "bad-grant"])
def test_refused_token_requests_answer_400_in_the_accounts_service_shape(api, auth, form, error, description):
    answer = api.session.post(f"{api.base}/api/token", data=form, auth=auth)
    assert answer.status_code == 400
    assert set(answer.json()) == {"error", "error_description"} and answer.json()["error"] == error
    if description:
        assert answer.json()["error_description"] == description
    assert CLIENT[1] not in answer.text and "mallory" not in answer.text


def test_the_token_endpoint_takes_post_only(api):
    answer = api.session.get(f"{api.base}/api/token")
    assert answer.status_code == 405 and answer.json()["error"] == "invalid_request"


# --- auth on the Web API ---------------------------------------------------------------------------

def test_a_call_without_a_token_or_with_an_unknown_one_answers_401(api):
    artist = next(iter(api.catalogue.artists))
    assert error_of(api.get(f"/v1/artists/{artist}")) == (401, "No token provided")
    assert error_of(api.get(f"/v1/artists/{artist}", "BQnot-a-token")) == (401, "Invalid access token")
    bad_scheme = api.session.get(f"{api.base}/v1/artists/{artist}", auth=CLIENT)
    assert error_of(bad_scheme) == (400, "Only valid bearer authentication supported")


def test_a_token_is_refused_as_expired_after_token_ttl():
    with running_simulator(SimulatorConfig(**SMALL, token_ttl=0.6, expires_in=3600)) as base_url:
        api = Api(SpotifyApiSimulator(SimulatorConfig(**SMALL)), base_url)
        token = api.token()
        artist = next(iter(api.catalogue.artists))
        assert api.get(f"/v1/artists/{artist}", token).status_code == 200
        time.sleep(0.65)
        expired = api.get(f"/v1/artists/{artist}", token)
        assert error_of(expired) == (401, "The access token expired")
        assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]


def test_expires_in_defaults_to_the_token_ttl():
    with running_simulator(SimulatorConfig(**SMALL, token_ttl=90)) as base_url:
        body = requests.post(f"{base_url}/api/token", data=APP_GRANT, auth=CLIENT).json()
    assert body["expires_in"] == 90


@pytest.mark.parametrize("path", ["/v1/me", "/v1/me/player/recently-played"])
def test_an_app_token_on_a_listeners_endpoint_answers_403(api, app_token, path):
    assert error_of(api.get(path, app_token)) == (403, "Insufficient client scope")


# --- the data --------------------------------------------------------------------------------------

def test_the_same_seed_serves_the_same_bodies_from_two_servers_and_another_seed_does_not(api, app_token):
    playlist = next(iter(api.catalogue.playlists))
    ours = api.get(f"/v1/playlists/{playlist}/items", app_token, limit=50, offset=50).text
    with running_simulator(SimulatorConfig(**SMALL)) as twin:
        twin_api = Api(api.simulator, twin)
        theirs = twin_api.get(f"/v1/playlists/{playlist}/items", twin_api.token(), limit=50, offset=50).text
    assert theirs.replace(twin, api.base) == ours
    other = Catalogue(SimulatorConfig(**{**SMALL, "seed": 8}))
    assert not set(other.playlists) & set(api.catalogue.playlists)
    assert not set(other.artists) & set(api.catalogue.artists)


def test_ids_are_22_character_base62_and_unique(api):
    c = api.catalogue
    ids = [*c.artists, *c.albums, *c.tracks, *c.playlists]
    assert all(BASE62_ID.fullmatch(i) for i in ids) and len(set(ids)) == len(ids)


def test_catalogue_objects_carry_plausible_values(api, app_token):
    for album_id in api.catalogue.albums:
        album = api.get(f"/v1/albums/{album_id}", app_token).json()
        pattern = {"day": r"\d{4}-\d{2}-\d{2}", "month": r"\d{4}-\d{2}", "year": r"\d{4}"}
        assert re.fullmatch(pattern[album["release_date_precision"]], album["release_date"]), album
        assert 0 <= album["popularity"] <= 100 and album["label"]
        assert album["total_tracks"] == album["tracks"]["total"] == len(album["tracks"]["items"]) >= 1
        assert all(90_000 <= t["duration_ms"] <= 600_000 for t in album["tracks"]["items"])
    precisions = Counter(a.release_date_precision for a in api.catalogue.albums.values())
    assert precisions["day"] > precisions["month"] + precisions["year"]
    for artist_id in api.catalogue.artists:
        artist = api.get(f"/v1/artists/{artist_id}", app_token).json()
        assert 0 <= artist["popularity"] <= 100 and artist["followers"]["total"] >= 0
        assert set(artist["genres"]) <= set(GENRES) and artist["name"]


def test_hrefs_and_paging_links_point_at_the_simulator(api, app_token):
    playlist = next(iter(api.catalogue.playlists))
    text = api.get(f"/v1/playlists/{playlist}", app_token).text
    assert "api.spotify.com" not in text and f"{api.base}/v1/artists/" in text
    body = json.loads(text)
    assert body["href"] == f"{api.base}/v1/playlists/{playlist}"
    assert body["items"]["next"] is None or body["items"]["next"].startswith(f"{api.base}/v1/playlists/")


def test_the_cli_banner_lists_the_playlist_ids_and_refresh_tokens(api):
    banner = "\n".join(api.simulator.banner())
    assert f"playlist_ids: {','.join(api.catalogue.playlists)}" in banner
    assert "listener alice: refresh_token refresh-alice" in banner


# --- paging ----------------------------------------------------------------------------------------

def test_playlist_items_page_every_entry_once_with_absolute_next_and_previous_links(api, app_token):
    for playlist_id, playlist in api.catalogue.playlists.items():
        pages = api.pages(f"/v1/playlists/{playlist_id}/items", app_token, limit=25)
        entries = [e for page in pages for e in page["items"]]
        assert [(e["item"]["id"], e["added_at"]) for e in entries] == list(playlist.entries)
        url = f"{api.base}/v1/playlists/{playlist_id}/items"
        assert pages[0]["href"] == f"{url}?offset=0&limit=25" and pages[0]["previous"] is None
        assert pages[1]["previous"] == f"{url}?offset=0&limit=25"
        assert pages[0]["next"] == f"{url}?offset=25&limit=25"
        assert all(p["total"] == len(playlist.entries) and p["limit"] == 25 for p in pages)
        assert [p["offset"] for p in pages] == list(range(0, len(playlist.entries), 25))


def test_limit_defaults_to_20_and_is_at_most_50_for_items_and_100_for_the_deprecated_tracks(api, old_api,
                                                                                           app_token):
    playlist = next(iter(api.catalogue.playlists))
    assert len(api.get(f"/v1/playlists/{playlist}/items", app_token).json()["items"]) == 20
    assert api.get(f"/v1/playlists/{playlist}/items", app_token, limit=50).status_code == 200
    for limit in (0, 51, "x"):
        answer = api.get(f"/v1/playlists/{playlist}/items", app_token, limit=limit)
        assert error_of(answer) == (400, "Invalid limit")
    old = old_api.token()
    assert len(old_api.get(f"/v1/playlists/{playlist}/tracks", old, limit=100).json()["items"]) > 50
    assert old_api.get(f"/v1/playlists/{playlist}/tracks", old, limit=101).status_code == 400


def test_an_offset_past_the_end_is_an_empty_page_without_next(api, app_token):
    playlist_id, playlist = next(iter(api.catalogue.playlists.items()))
    body = api.get(f"/v1/playlists/{playlist_id}/items", app_token, offset=len(playlist.entries)).json()
    assert body["items"] == [] and body["next"] is None and body["previous"]


def test_recently_played_pages_back_with_before_cursors_through_the_newest_plays():
    config = SimulatorConfig(**SMALL, recently_played_max=120)
    simulator = SpotifyApiSimulator(config)
    with simulator.serving() as base_url:
        api = Api(simulator, base_url)
        pages = api.pages("/v1/me/player/recently-played", api.token("alice"), limit=50)
    plays = [item for page in pages for item in page["items"]]
    expected = simulator.catalogue.recent_plays("alice", ms_from_datetime(AS_OF))
    assert [len(p["items"]) for p in pages] == [50, 50, 20] and len(expected) == 120
    assert [p["played_at"] for p in plays] == [iso_from_ms(p.played_at_ms) for p in expected]
    assert [p["track"]["id"] for p in plays] == [p.track_id for p in expected]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", p["played_at"]) for p in plays)
    assert max(p["played_at"] for p in plays) <= AS_OF.isoformat().replace("+00:00", "Z")
    for page in pages:
        times = [ms_from_datetime(datetime.fromisoformat(i["played_at"])) for i in page["items"]]
        assert page["cursors"] == {"after": str(times[0]), "before": str(times[-1])}
    before = pages[0]["cursors"]["before"]
    assert pages[0]["next"] == f"{base_url}/v1/me/player/recently-played?before={before}&limit=50"
    assert pages[0]["href"] == f"{base_url}/v1/me/player/recently-played?limit=50"
    assert pages[-1]["next"] is None


def test_recently_played_shows_only_the_last_50_plays_like_the_real_api(api, alice):
    pages = api.pages("/v1/me/player/recently-played", alice, limit=20)
    assert sum(len(p["items"]) for p in pages) == 50
    past = api.get("/v1/me/player/recently-played", alice, before=pages[-1]["cursors"]["before"])
    assert past.json()["items"] == [] and past.json()["cursors"] is None and past.json()["next"] is None


def test_recently_played_after_a_cursor_answers_the_plays_just_after_it(api, alice):
    everything = [i for p in api.pages("/v1/me/player/recently-played", alice, limit=50) for i in p["items"]]
    cursor = ms_from_datetime(datetime.fromisoformat(everything[30]["played_at"]))
    newer = api.get("/v1/me/player/recently-played", alice, after=cursor, limit=10).json()
    assert newer["items"] == everything[20:30]
    assert newer["next"].endswith(f"after={newer['cursors']['after']}&limit=10")
    assert error_of(api.get("/v1/me/player/recently-played", alice, after=1, before=2))[0] == 400
    assert error_of(api.get("/v1/me/player/recently-played", alice, limit=51)) == (400, "Invalid limit")


def test_each_listener_has_their_own_deterministic_history(api, alice):
    bob = api.token("bob")
    alices = api.get("/v1/me/player/recently-played", alice, limit=50).json()["items"]
    bobs = api.get("/v1/me/player/recently-played", bob, limit=50).json()["items"]
    assert [p["played_at"] for p in alices] != [p["played_at"] for p in bobs]
    again = Catalogue(SimulatorConfig(**SMALL)).recent_plays("alice", ms_from_datetime(AS_OF))
    assert [p["track"]["id"] for p in alices] == [p.track_id for p in again]
    contexts = {p["context"]["type"] for p in alices + bobs}
    assert contexts <= {"playlist", "album", "artist"} and len(contexts) >= 2


# --- API versions ----------------------------------------------------------------------------------

def test_the_2026_api_serves_items_and_refuses_the_deprecated_endpoints_with_403(api, app_token):
    playlist_id = next(iter(api.catalogue.playlists))
    artist_ids = ",".join(list(api.catalogue.artists)[:3])
    album_ids = ",".join(list(api.catalogue.albums)[:3])
    assert api.get(f"/v1/playlists/{playlist_id}/items", app_token).status_code == 200
    assert error_of(api.get(f"/v1/playlists/{playlist_id}/tracks", app_token)) == (403, "Forbidden")
    assert error_of(api.get("/v1/artists", app_token, ids=artist_ids)) == (403, "Forbidden")
    assert error_of(api.get("/v1/albums", app_token, ids=album_ids)) == (403, "Forbidden")
    playlist = api.get(f"/v1/playlists/{playlist_id}", app_token).json()
    assert playlist["items"]["items"] == playlist["tracks"]["items"]
    assert all(e["item"] == e["track"] for e in playlist["items"]["items"])


def test_the_pre2026_api_has_no_items_and_serves_tracks_and_the_batch_endpoints(old_api):
    token = old_api.token()
    playlist_id = next(iter(old_api.catalogue.playlists))
    assert error_of(old_api.get(f"/v1/playlists/{playlist_id}/items", token)) == (404, "Service not found")
    page = old_api.get(f"/v1/playlists/{playlist_id}/tracks", token, limit=100).json()
    assert page["items"] and all("item" not in e and e["track"]["type"] == "track" for e in page["items"])
    playlist = old_api.get(f"/v1/playlists/{playlist_id}", token).json()
    assert "items" not in playlist and playlist["tracks"]["items"] == page["items"]
    ids = list(old_api.catalogue.artists)[:3]
    artists = old_api.get("/v1/artists", token, ids=",".join(ids)).json()["artists"]
    assert [a["id"] for a in artists] == ids
    album_ids = list(old_api.catalogue.albums)[:2]
    albums = old_api.get("/v1/albums", token, ids=",".join(album_ids)).json()["albums"]
    assert [a["id"] for a in albums] == album_ids


def test_batch_endpoints_take_50_artists_or_20_albums_and_answer_null_for_unknown_ids(old_api):
    token = old_api.token()
    unknown = "0" * 22
    known = next(iter(old_api.catalogue.artists))
    artists = old_api.get("/v1/artists", token, ids=f"{known},{unknown}").json()
    assert artists["artists"][0]["type"] == "artist" and artists["artists"][1] is None
    too_many = (400, "Too many ids requested")
    assert error_of(old_api.get("/v1/artists", token, ids=",".join([unknown] * 51))) == too_many
    assert old_api.get("/v1/albums", token, ids=",".join([unknown] * 20)).status_code == 200
    assert error_of(old_api.get("/v1/albums", token, ids=",".join([unknown] * 21))) == too_many
    assert error_of(old_api.get("/v1/albums", token, ids="not-an-id")) == (400, "Invalid base62 id")


def test_unknown_objects_and_services_answer_404(api, app_token):
    unknown = "0" * 22
    for path in (f"/v1/artists/{unknown}", f"/v1/albums/{unknown}", f"/v1/tracks/{unknown}",
                 f"/v1/playlists/{unknown}"):
        assert error_of(api.get(path, app_token)) == (404, "Resource not found"), path
    assert error_of(api.get("/v1/artists/nope", app_token)) == (400, "Invalid base62 id")
    assert error_of(api.get("/v1/audio-features", app_token)) == (404, "Service not found")


# --- shapes: the real bodies and the OpenAPI specs -------------------------------------------------

def real_body(realdata: Path, name: str) -> dict:
    return json.loads((realdata / "spotify" / "api" / name).read_text())


def test_objects_have_the_fields_of_the_real_bodies(realdata, api, old_api, app_token, alice):
    real_playlist = real_body(realdata, "playlist.json")
    real_entry = real_playlist["items"]["items"][0]
    playlist_id = next(iter(api.catalogue.playlists))
    playlist = api.get(f"/v1/playlists/{playlist_id}", app_token).json()
    assert list(playlist) == list(real_playlist)
    assert list(playlist["items"]) == list(real_playlist["items"])
    entry = playlist["items"]["items"][0]
    assert list(entry) == list(real_entry)
    assert set(entry["item"]) == set(real_entry["item"])
    assert set(entry["added_by"]) == set(real_entry["added_by"])
    assert set(playlist["owner"]) == set(real_playlist["owner"])

    real_page = real_body(realdata, "playlist_tracks_page.json")
    old_entry = old_api.get(f"/v1/playlists/{playlist_id}/tracks", old_api.token()).json()["items"][0]
    assert set(old_entry) == set(real_page["items"][0])
    assert set(old_entry["track"]) == set(real_page["items"][0]["track"])
    assert set(old_entry["track"]["album"]) == set(real_page["items"][0]["track"]["album"])

    real_album = real_body(realdata, "albums_several.json")["albums"][0]
    album = api.get(f"/v1/albums/{next(iter(api.catalogue.albums))}", app_token).json()
    assert list(album) == list(real_album) and list(album["tracks"]) == list(real_album["tracks"])
    assert list(album["tracks"]["items"][0]) == list(real_album["tracks"]["items"][0])
    real_artist = real_body(realdata, "artists_several.json")["artists"][0]
    artist = api.get(f"/v1/artists/{next(iter(api.catalogue.artists))}", app_token).json()
    assert list(artist) == list(real_artist)

    real_recent = real_body(realdata, "recently_played.json")
    recent = api.get("/v1/me/player/recently-played", alice, limit=5).json()
    assert list(recent) == list(real_recent) and list(recent["items"][0]) == list(real_recent["items"][0])
    assert list(recent["items"][0]["track"]) == list(real_recent["items"][0]["track"])
    assert list(recent["items"][0]["context"]) == list(real_recent["items"][0]["context"])
    track = api.get(f"/v1/tracks/{recent['items'][0]['track']['id']}", app_token).json()
    assert list(track) == list(real_recent["items"][0]["track"])


# Where the specs and the real API disagree, the real API wins; each fix-up says why.
SPEC_FIXES = (
    "the oneOf TrackObject|EpisodeObject of playlist items names its discriminator 'type' without a mapping, "
    "and 'track'/'episode' are not schema names: validators then look up '#/components/schemas/track' "
    "(the real playlist bodies fail too); the mapping is added",
    "CursorPagingObject 'next' and 'cursors' are not nullable in the spec, yet the real recently-played "
    "answers null on the last page and on an empty one: they are made nullable",
)
SPEC_URI = "urn:spotify-openapi"


def _patched_spec(path: Path) -> dict:
    doc = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))

    def add_mappings(node):
        if isinstance(node, dict):
            found = node.get("discriminator")
            if isinstance(found, dict) and found.get("propertyName") == "type" and "mapping" not in found:
                found["mapping"] = {"track": "#/components/schemas/TrackObject",
                                    "episode": "#/components/schemas/EpisodeObject"}
            for value in node.values():
                add_mappings(value)
        elif isinstance(node, list):
            for value in node:
                add_mappings(value)

    add_mappings(doc)
    cursor_paging = doc["components"]["schemas"]["CursorPagingObject"]["properties"]
    cursor_paging["next"]["nullable"] = True
    cursor_paging["cursors"]["nullable"] = True
    return doc


class Spec:
    """Response schemas of one OpenAPI document, validated with openapi-schema-validator (OAS 3.0)."""

    FALLBACK = {400: "BadRequest", 404: "NotFound", 502: "BadRequest", 503: "BadRequest"}
    """Statuses the paths do not declare: the generic error schema (ErrorObject allows 400-599)."""

    def __init__(self, path: Path) -> None:
        self.doc = _patched_spec(path)
        resource = Resource.from_contents(self.doc, default_specification=DRAFT4)
        self.registry = Registry().with_resource(SPEC_URI, resource)

    def problems(self, template: str, status: int, body: object) -> list[str]:
        responses = self.doc["paths"][template]["get"]["responses"]
        declared = responses.get(str(status))
        if declared is not None and "$ref" in declared:
            pointer = declared["$ref"].lstrip("#")
        elif declared is not None:
            pointer = "/paths/" + template.replace("~", "~0").replace("/", "~1") + f"/get/responses/{status}"
        else:
            pointer = f"/components/responses/{self.FALLBACK[status]}"
        schema = {"$ref": f"{SPEC_URI}#{pointer}/content/application~1json/schema"}
        validator = OAS30Validator(schema, registry=self.registry,
                                   format_checker=OAS30Validator.FORMAT_CHECKER)
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
                for e in validator.iter_errors(body)]


@pytest.fixture(scope="module")
def spec_2026(realdata) -> Spec:
    return Spec(realdata / "spotify" / "openapi" / "spotify-openapi.yml")


@pytest.fixture(scope="module")
def spec_pre2026(realdata) -> Spec:
    return Spec(realdata / "spotify" / "openapi" / "spotify-openapi-pre2026.yml")


def test_the_real_bodies_are_valid_against_the_patched_2026_spec(realdata, spec_2026):
    assert not spec_2026.problems("/playlists/{playlist_id}", 200, real_body(realdata, "playlist.json"))
    assert not spec_2026.problems("/playlists/{playlist_id}/tracks", 200,
                                  real_body(realdata, "playlist_tracks_page.json"))
    assert not spec_2026.problems("/artists", 200, real_body(realdata, "artists_several.json"))
    assert not spec_2026.problems("/albums", 200, real_body(realdata, "albums_several.json"))
    assert not spec_2026.problems("/me/player/recently-played", 200,
                                  real_body(realdata, "recently_played.json"))
    assert not spec_2026.problems("/artists", 429, real_body(realdata, "error_429_rate_limit.json"))
    assert not spec_2026.problems("/artists", 404, real_body(realdata, "error_404_not_found.json"))
    # the validator does check: a wrong type and a broken date-time are caught
    broken = real_body(realdata, "recently_played.json")
    broken["items"][0]["played_at"], broken["limit"] = "yesterday", "48"
    assert len(spec_2026.problems("/me/player/recently-played", 200, broken)) == 2


def conformance_calls(api: Api, version: str) -> list[tuple[str, str, int, str | None]]:
    """``(template, path, expected status, token kind)`` for every endpoint of one API version."""
    c = api.catalogue
    playlist, artist, album, track = (next(iter(c.playlists)), next(iter(c.artists)), next(iter(c.albums)),
                                      next(iter(c.tracks)))
    some_artists, some_albums = ",".join(list(c.artists)[:50]), ",".join(list(c.albums)[:20])
    new = version == "2026"
    return [
        ("/playlists/{playlist_id}", f"/v1/playlists/{playlist}", 200, "app"),
        ("/playlists/{playlist_id}", f"/v1/playlists/{'0' * 22}", 404, "app"),
        ("/playlists/{playlist_id}/tracks", f"/v1/playlists/{playlist}/tracks?limit=100", 403 if new else 200,
         "app"),
        ("/artists/{id}", f"/v1/artists/{artist}", 200, "app"),
        ("/artists/{id}", f"/v1/artists/{artist}", 401, None),
        ("/artists", f"/v1/artists?ids={some_artists}", 403 if new else 200, "app"),
        ("/albums/{id}", f"/v1/albums/{album}", 200, "app"),
        ("/albums", f"/v1/albums?ids={some_albums}", 403 if new else 200, "app"),
        ("/tracks/{id}", f"/v1/tracks/{track}", 200, "app"),
        ("/me", "/v1/me", 200, "alice"),
        ("/me", "/v1/me", 403, "app"),
        ("/me/player/recently-played", "/v1/me/player/recently-played?limit=50", 200, "alice"),
        ("/me/player/recently-played", "/v1/me/player/recently-played?limit=500", 400, "alice"),
        *([("/playlists/{playlist_id}/items", f"/v1/playlists/{playlist}/items?limit=50", 200, "app")]
          if new else []),
    ]


@pytest.mark.parametrize("version", ["2026", "pre2026"])
def test_every_endpoint_answers_valid_bodies_against_its_versions_spec(version, api, old_api, spec_2026,
                                                                       spec_pre2026):
    served, spec = (api, spec_2026) if version == "2026" else (old_api, spec_pre2026)
    tokens = {"app": served.token(), "alice": served.token("alice"), None: None}
    checked = Counter()
    for template, path, status, kind in conformance_calls(served, version):
        answer = served.get(path, tokens[kind])
        assert answer.status_code == status, (path, answer.text[:300])
        bodies = [answer.json()]
        while status == 200 and isinstance(bodies[-1], dict) and bodies[-1].get("next"):
            bodies.append(served.get(bodies[-1]["next"], tokens[kind]).json())  # every page of a paged list
        for body in bodies:
            assert spec.problems(template, status, body) == [], (version, path)
        checked[status] += len(bodies)
    assert checked[200] >= 8 and checked[403] >= (4 if version == "2026" else 1)


def test_error_answers_of_faults_and_expired_tokens_are_valid_error_bodies(spec_2026):
    faults = FaultConfig(rate_limit_rate=1.0, rate_limit_burst=1)
    with running_simulator(SimulatorConfig(**SMALL, faults=faults)) as base_url:
        limited = requests.get(f"{base_url}/v1/artists/{'0' * 22}")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert spec_2026.problems("/artists/{id}", 429, limited.json()) == []
    with running_simulator(SimulatorConfig(**SMALL, faults=FaultConfig(fail_rate=1.0))) as base_url:
        failed = requests.get(f"{base_url}/v1/artists/{'0' * 22}")
    assert failed.status_code == 502 and spec_2026.problems("/artists/{id}", 502, failed.json()) == []
    with running_simulator(SimulatorConfig(**SMALL, token_ttl=0.05)) as base_url:
        token = requests.post(f"{base_url}/api/token", data=APP_GRANT,
                              auth=CLIENT).json()["access_token"]
        time.sleep(0.1)
        expired = requests.get(f"{base_url}/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401 and spec_2026.problems("/me", 401, expired.json()) == []


# --- faults ----------------------------------------------------------------------------------------

def test_a_broken_page_always_answers_502_and_its_neighbours_do_not():
    faults = FaultConfig(broken_pages=frozenset({("playlist_items", 2)}))
    simulator = SpotifyApiSimulator(SimulatorConfig(**SMALL, faults=faults))
    with simulator.serving() as base_url:
        api = Api(simulator, base_url)
        token, playlist = api.token(), next(iter(api.catalogue.playlists))
        for _ in range(3):
            assert api.get(f"/v1/playlists/{playlist}/items", token, limit=25, offset=25).status_code == 502
        assert api.get(f"/v1/playlists/{playlist}/items", token, limit=25, offset=0).status_code == 200
        assert api.get(f"/v1/playlists/{playlist}/items", token, limit=25, offset=50).status_code == 200


def test_an_api_that_is_down_answers_503_everywhere_including_health_and_token():
    with running_simulator(SimulatorConfig(**SMALL, faults=FaultConfig(down=True))) as base_url:
        assert requests.get(f"{base_url}/health").status_code == 503
        assert requests.post(f"{base_url}/api/token", data=APP_GRANT,
                             auth=CLIENT).status_code == 503
        assert requests.get(f"{base_url}/v1/me").status_code == 503


def test_health_is_spared_every_fault_but_down(api):
    assert api.session.get(f"{api.base}/health").json() == {"status": "ok"}
    faults = FaultConfig(fail_rate=1.0, bad_page_rate=1.0)
    with running_simulator(SimulatorConfig(**SMALL, faults=faults)) as base_url:
        assert all(requests.get(f"{base_url}/health").json() == {"status": "ok"} for _ in range(5))
        assert requests.post(f"{base_url}/api/token", data=APP_GRANT,
                             auth=CLIENT).status_code == 502


def test_truncated_bodies_are_cut_short_200_answers():
    with running_simulator(SimulatorConfig(**SMALL, faults=FaultConfig(bad_page_rate=1.0))) as base_url:
        answer = requests.post(f"{base_url}/api/token", data=APP_GRANT, auth=CLIENT)
    assert answer.status_code == 200
    with pytest.raises(ValueError):
        answer.json()


def test_record_noise_adds_malformed_and_duplicate_items_and_plays_around_the_true_ones(api, app_token,
                                                                                       alice):
    faults = FaultConfig(malformed_rate=0.3, duplicate_rate=0.3)
    simulator = SpotifyApiSimulator(SimulatorConfig(**SMALL, faults=faults))
    playlist_id = next(iter(api.catalogue.playlists))
    clean = [e for p in api.pages(f"/v1/playlists/{playlist_id}/items", app_token, limit=50)
             for e in p["items"]]
    clean_plays = [i for p in api.pages("/v1/me/player/recently-played", alice, limit=50) for i in p["items"]]
    with simulator.serving() as base_url:
        noisy_api = Api(simulator, base_url)
        noisy = [e for p in noisy_api.pages(f"/v1/playlists/{playlist_id}/items", noisy_api.token(), limit=50)
                 for e in p["items"]]
        plays = [i for p in noisy_api.pages("/v1/me/player/recently-played", noisy_api.token("alice"),
                                            limit=20) for i in p["items"]]

    def texts(records: list[dict], base_url: str) -> list[str]:
        return [json.dumps(r, sort_keys=True).replace(base_url, "BASE") for r in records]

    for served, true in ((noisy, clean), (plays, clean_plays)):
        extras = Counter(texts(served, base_url))
        extras.subtract(Counter(texts(true, api.base)))
        assert min(extras.values()) >= 0, "a true record went missing"
        added = list(extras.elements())
        duplicates = [text for text in added if text in texts(true, api.base)]
        assert duplicates and len(added) > len(duplicates), "both duplicates and malformed copies are added"
    readable = [e for e in noisy if "item" in e and "track" in e
                and re.fullmatch(r"[\d\-T:]+Z", str(e.get("added_at")))]
    assert set(texts(readable, base_url)) == set(texts(clean, api.base))
    assert all(("item" in e) == ("track" in e) for e in noisy), "a malformed entry kept its item in one field"


# --- the command line ------------------------------------------------------------------------------

def test_the_command_line_lists_what_to_configure_serves_until_sigterm_and_logs_each_request(simulator_command):
    args = ["--seed", "7", "--listener", "alice", "--listener", "bob", "--client-id", "cli-app", "--client-secret",
            "cli-secret", "--api-version", "pre2026", "--broken-page", "artists:1"]
    with simulator_command("devstack.simulators.spotify_api", args, "health") as served:
        base_url = served.base_url
        answer = requests.post(f"{base_url}/api/token", data={"grant_type": "refresh_token",
                                                               "refresh_token": "refresh-bob"},
                               auth=("cli-app", "cli-secret"), timeout=5)
        token = answer.json()["access_token"]
        me = requests.get(f"{base_url}/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert me.json()["display_name"] == "Bob"
        playlists = Catalogue(SimulatorConfig(seed=7)).playlists
        first = next(iter(playlists))
        tracks = requests.get(f"{base_url}/v1/playlists/{first}/tracks",
                              headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert tracks.status_code == 200
        broken = requests.get(f"{base_url}/v1/artists/{'0' * 22}",
                              headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert broken.status_code == 502
    output = served.output
    assert served.returncode == 0, output
    assert f"listening on {base_url}" in output
    assert f"playlist_ids: {','.join(playlists)}" in output
    assert "listener bob: refresh_token refresh-bob" in output
    assert '"POST /api/token" 200' in output and '"GET /v1/me" 200' in output
    assert "cli-secret" not in output and token not in output


def test_the_command_line_refuses_a_bad_listener_name():
    env = {**os.environ, "PYTHONPATH": str(REPO / "include")}
    done = subprocess.run([sys.executable, "-m", "devstack.simulators.spotify_api", "--listener", "../etc"],
                          capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 2 and "listener name '../etc'" in done.stderr


def test_configuration_is_checked():
    with pytest.raises(ValueError, match="api_version"):
        SimulatorConfig(api_version="2027")
    with pytest.raises(ValueError, match="repeat"):
        SimulatorConfig(listeners=("alice", "alice"))
    assert SimulatorConfig(as_of="2026-03-01T00:00:00").as_of.tzinfo is UTC
    assert date(2026, 3, 1) == SimulatorConfig(as_of="2026-03-01T00:00:00Z").as_of.date()
