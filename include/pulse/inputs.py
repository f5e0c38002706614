"""What a source ingests into bronze: its inputs, each a sensor and an ingest step.

A DAG gets one ``wait_for_<input>`` sensor and one ``ingest_<input>`` task per input; the factory in
:mod:`pulse.pipeline` does not know what kind of input it wires. Four kinds exist:

- :class:`HttpEndpoint`: one paged REST resource (the creator API's four): the sensor waits for the
  API's health URL, the ingest pages through the run's window into ``bronze/<source>/<endpoint>/``.
- :class:`SpotifyWebApi`: the Spotify Web API crawl (playlists, their items, artists, albums and the
  listener's recently played): the sensor waits until the accounts service hands out a token.
- :class:`YouTubeDataApi`: the YouTube Data API v3 crawl of our channels and competitors' (channels, their
  uploads, a daily snapshot of their videos) within the daily quota: the sensor checks the API key.
- :class:`ExportInbox`: files people drop into an inbox (Spotify's streaming-history exports, creators'
  YouTube Studio, Instagram and TikTok exports): the sensor waits, for a while, for files not yet
  ingested; when none come it is skipped, not failed, and the run goes on with what the other inputs
  brought.

An input that is not available here (:meth:`Input.unavailable`: its connection is not defined, its inbox
does not exist) is skipped, with the reason in the log, so a source with several inputs runs on
whichever are configured.

Heavy imports (providers' hooks, the clients) happen inside the methods, so DAG files parse fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from pulse.config import api_wait_seconds, inbox_root, inbox_wait_seconds, sensor_poke_seconds

API_WAIT_SECONDS = 30 * 60
"""How long an API input's sensor waits for its API by default (``PULSE_API_WAIT_SECONDS`` overrides)."""


@dataclass(frozen=True)
class RunWindow:
    """What one DAG run ingests: its run date and the ``[start, end)`` window of dates it asks for."""

    run_date: date
    start: date
    end: date
    simulator_scale: float | None = None
    """The run's ``simulator_scale`` param: sent only to a connection marked as a simulator, never to a real API."""


class Input(Protocol):
    """Something a source ingests into bronze."""

    name: str

    def unavailable(self) -> str | None:
        """Why this input cannot be ingested in this deployment (its connection is not defined, its inbox
        does not exist), or None. An unavailable input is skipped; the reason goes to the task's log."""

    def sensor(self, task_id: str, **operator_args: Any) -> Any:
        """The operator that waits until this input can be ingested (``operator_args`` go to the operator)."""

    def ingest(self, source_name: str, window: RunWindow) -> dict:
        """Write this input's bronze for ``window``; returns counts for the task's log and XCom."""


@dataclass(frozen=True)
class HttpEndpoint:
    """One paged REST resource of an API reached through the HTTP connection ``conn_id``."""

    name: str
    conn_id: str
    path: str
    health_path: str
    page_size: int = 500
    wait_seconds: int = API_WAIT_SECONDS
    """How long the sensor waits for the API before the run fails (``PULSE_API_WAIT_SECONDS`` overrides)."""

    def unavailable(self) -> str | None:
        return _missing_connection(self.conn_id, "the API")

    def sensor(self, task_id: str, **operator_args: Any) -> Any:
        from pulse.api_sensor import ApiAvailableSensor

        return ApiAvailableSensor(task_id=task_id, http_conn_id=self.conn_id, endpoint=self.health_path,
                                  method="GET", mode="reschedule", poke_interval=sensor_poke_seconds(30),
                                  exponential_backoff=True, timeout=api_wait_seconds(self.wait_seconds),
                                  **operator_args)

    def ingest(self, source_name: str, window: RunWindow) -> dict:
        from airflow.providers.http.hooks.http import HttpHook

        from pulse.config import lake_root
        from pulse.http_ingest import ingest_endpoint
        from pulse.simulator_scale import scale_query

        hook = HttpHook(method="GET", http_conn_id=self.conn_id)
        session = hook.get_conn()
        params = {"start_date": window.start.isoformat(), "end_date": window.end.isoformat(),
                  "limit": self.page_size}
        params.update(scale_query(self.conn_id, window))
        result = ingest_endpoint(
            session=session,
            base_url=hook.base_url,
            api_name=self.conn_id,
            source=source_name,
            endpoint=self.name,
            path=self.path,
            params=params,
            run_date=window.run_date,
            lake_root=lake_root(),
        )
        return {"endpoint": result.endpoint, "records": result.records, "pages": result.pages,
                "seconds": result.seconds, "answers": result.answers}


@dataclass(frozen=True)
class SpotifyWebApi:
    """The Spotify Web API crawl configured by the connection ``conn_id`` (see pulse.spotify_client)."""

    name: str = "api"
    conn_id: str = "spotify_api"
    wait_seconds: int = API_WAIT_SECONDS
    """How long the sensor waits for a token before the run fails (``PULSE_API_WAIT_SECONDS`` overrides)."""

    def unavailable(self) -> str | None:
        return _missing_connection(self.conn_id, "the Spotify Web API", " (see README, 'Spotify set-up')")

    def sensor(self, task_id: str, **operator_args: Any) -> Any:
        from pulse.sensors import SpotifyTokenSensor

        return SpotifyTokenSensor(task_id=task_id, conn_id=self.conn_id, mode="reschedule",
                                  poke_interval=sensor_poke_seconds(30), exponential_backoff=True,
                                  timeout=api_wait_seconds(self.wait_seconds), **operator_args)

    def ingest(self, source_name: str, window: RunWindow) -> dict:
        from pulse.spotify_client import ingest_spotify

        return ingest_spotify(window.run_date, self.conn_id)


@dataclass(frozen=True)
class YouTubeDataApi:
    """The YouTube Data API v3 crawl configured by the connection ``conn_id`` (see pulse.youtube_ingest)."""

    name: str = "youtube"
    conn_id: str = "youtube_api"
    wait_seconds: int = API_WAIT_SECONDS
    """How long the sensor waits for the API before the run fails (``PULSE_API_WAIT_SECONDS`` overrides)."""

    def unavailable(self) -> str | None:
        return _missing_connection(self.conn_id, "the YouTube Data API",
                                   " (define it to crawl YouTube channels: see README, 'YouTube set-up')")

    def sensor(self, task_id: str, **operator_args: Any) -> Any:
        from pulse.sensors import YouTubeApiSensor

        return YouTubeApiSensor(task_id=task_id, conn_id=self.conn_id, mode="reschedule",
                                poke_interval=sensor_poke_seconds(30), exponential_backoff=True,
                                timeout=api_wait_seconds(self.wait_seconds), **operator_args)

    def ingest(self, source_name: str, window: RunWindow) -> dict:
        from pulse.youtube_ingest import ingest_youtube

        return ingest_youtube(window.run_date, self.conn_id)


@dataclass(frozen=True)
class ExportInbox:
    """Exports dropped into ``<inbox>/<owner>/``: Spotify's streaming histories by listener
    (pulse.spotify_exports), creators' exports by account (pulse.creator_inbox)."""

    name: str = "exports"
    source_name: str = "spotify"
    wait_seconds: int = 10 * 60
    exports_module: str = "pulse.spotify_exports"
    """The module that reads this inbox: its ``pending_exports(inbox, lake_root)`` (what the sensor pokes)
    and ``ingest_exports(inbox, lake_root)``."""

    def unavailable(self) -> str | None:
        from pathlib import Path

        from pulse.lake_storage import is_remote

        inbox = inbox_root(self.source_name)
        if is_remote(inbox) or Path(inbox).is_dir():  # a prefix in object storage exists once files do
            return None
        return f"the inbox {inbox} does not exist: create it, then drop files into it"

    def sensor(self, task_id: str, **operator_args: Any) -> Any:
        from pulse.sensors import InboxSensor

        return InboxSensor(task_id=task_id, inbox=inbox_root(self.source_name), exports_module=self.exports_module,
                           mode="reschedule", poke_interval=sensor_poke_seconds(60), soft_fail=True,
                           timeout=inbox_wait_seconds(self.wait_seconds), **operator_args)

    def ingest(self, source_name: str, window: RunWindow) -> dict:
        from importlib import import_module

        from pulse.config import lake_root

        return import_module(self.exports_module).ingest_exports(inbox_root(source_name), lake_root())


def _missing_connection(conn_id: str, what: str, how: str = "") -> str | None:
    from pulse.sensors import connection_defined

    if connection_defined(conn_id):
        return None
    return f"no {conn_id!r} connection is defined, so {what} is not pulled in this run{how}"
