"""The sensors that wait until a source's input can be ingested."""

from __future__ import annotations

from typing import Any

import requests
from airflow.providers.http.hooks.http import HttpHook
from airflow.providers.http.sensors.http import HttpSensor
from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout


class ApiAvailableSensor(HttpSensor):
    """An ``HttpSensor`` on an API's health URL that treats an API not up yet as "poke again later": an
    answer in :attr:`NOT_YET` (HttpSensor's own ``response_error_codes_allowlist``) or a connection that
    is refused or times out. Its timeout names the URL it waited for."""

    NOT_YET = ("404", "408", "429", "500", "502", "503", "504")

    def poke(self, context: Any) -> bool:
        try:
            return bool(super().poke(context))
        except (requests.ConnectionError, requests.Timeout) as exc:
            self.log.info("%s cannot be reached yet (%s)", self.http_conn_id, type(exc).__name__)
            return False

    def execute(self, context: Any) -> Any:
        try:
            return super().execute(context)
        except AirflowSensorTimeout as exc:
            raise AirflowSensorTimeout(
                f"{self.http_conn_id} at {self.url()} did not answer within {self.timeout:.0f}s: "
                f"is the API up, and does the {self.http_conn_id!r} connection point at it?"
            ) from exc

    def url(self) -> str:
        hook = HttpHook(method=self.method, http_conn_id=self.http_conn_id)
        hook.get_conn()
        return f"{hook.base_url.rstrip('/')}/{self.endpoint.lstrip('/')}"


class SpotifyTokenSensor(BaseSensorOperator):
    """Waits until the Spotify accounts service hands the connection's app a token: the API is up and
    the credentials work. Refused credentials fail at once, since waiting will not fix them."""

    template_fields = ("conn_id",)

    def __init__(self, *, conn_id: str = "spotify_api", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id

    def poke(self, context: Any) -> bool:
        from pulse.http_ingest import IngestError, RetryableAnswer
        from pulse.spotify_client import APP, SpotifyTokens, session_from_connection

        session, _, settings = session_from_connection(self.conn_id)
        with session:
            try:
                SpotifyTokens(session, settings).get(APP)
            except RetryableAnswer as exc:
                self.log.info("%s: no token yet %s; waiting", self.conn_id, exc)
                return False
            except IngestError as exc:
                if exc.status is not None and 400 <= exc.status < 500:
                    raise AirflowFailException(str(exc)) from exc
                raise
        return True


class InboxSensor(BaseSensorOperator):
    """Waits for files in an inbox that are not in bronze yet. Meant to run with ``soft_fail``: when
    nothing new arrives before the timeout the ingest is skipped and the run goes on."""

    template_fields = ("inbox",)

    def __init__(self, *, inbox: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inbox = inbox

    def poke(self, context: Any) -> bool:
        from pulse.config import lake_root
        from pulse.spotify_exports import pending_exports

        pending = pending_exports(self.inbox, lake_root())
        self.log.info("%d new file(s) in %s", len(pending), self.inbox)
        return bool(pending)


def connection_defined(conn_id: str) -> bool:
    """True when Airflow can find the connection ``conn_id`` (environment, secrets backend or database)."""
    from airflow.sdk import BaseHook

    try:
        BaseHook.get_connection(conn_id)
    except Exception:  # the SDK's not-found error type differs across versions
        return False
    return True
