"""The sensors that wait until a source's input can be ingested (the HTTP one, which needs the http
provider, is :mod:`pulse.api_sensor`: only a DAG with an HTTP input pays for importing it)."""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowFailException

log = logging.getLogger(__name__)


class SpotifyTokenSensor(BaseSensorOperator):
    """Waits until the Spotify accounts service hands the connection's app a token: the API is up and
    the credentials work. Refused credentials fail at once, since waiting will not fix them; a token URL
    that refuses connections or does not resolve, on a few tries in a row, is a WARNING naming it (as
    :class:`~pulse.api_sensor.ApiAvailableSensor` does)."""

    template_fields = ("conn_id",)

    def __init__(self, *, conn_id: str = "spotify_api", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id

    def poke(self, context: Any) -> bool:
        from pulse.api_sensor import UNREACHABLE_TRIES, retrying_while_unreachable, unreachable_reason
        from pulse.http_ingest import IngestError, RetryableAnswer
        from pulse.spotify_client import APP, SpotifyTokens, session_from_connection

        session, _, settings = session_from_connection(self.conn_id)
        retrying = retrying_while_unreachable()
        with session:
            try:
                retrying(SpotifyTokens(session, settings).get, APP)
            except RetryableAnswer as exc:
                reason = unreachable_reason(exc)
                if reason is None:
                    log.info("%s: no token yet %s; waiting", self.conn_id, exc)
                else:
                    log.warning("%s: the accounts service at %s %s on %d tries in a row: is the host right? "
                                "Check the %r connection's token_url. Still waiting, up to %.0fs in all",
                                self.conn_id, settings.token_url, reason, UNREACHABLE_TRIES, self.conn_id,
                                self.timeout)
                return False
            except IngestError as exc:
                if exc.status is not None and 400 <= exc.status < 500:
                    raise AirflowFailException(str(exc)) from exc
                raise
        return True


class YouTubeApiSensor(BaseSensorOperator):
    """Waits until the YouTube Data API answers a ``channels.list`` of one configured channel (``part=id``,
    1 quota unit) with the connection's key. A refused key fails at once, naming the connection, since
    waiting will not fix it; 429s, 5xx and lost connections mean "poke again later" (a refused connection or
    an unknown host, on a few tries in a row, is a WARNING naming the URL, as
    :class:`~pulse.api_sensor.ApiAvailableSensor` says). A spent daily quota lets the ingest go on: it ends at
    once as a partial crawl, and the next run resumes (a sensor waiting for midnight Pacific would hold the
    run for hours)."""

    template_fields = ("conn_id",)

    def __init__(self, *, conn_id: str = "youtube_api", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id

    def poke(self, context: Any) -> bool:
        import requests

        from pulse.api_sensor import UNREACHABLE_TRIES, retrying_while_unreachable, unreachable_reason
        from pulse.youtube_ingest import (
            KEY_REASONS,
            QUOTA_REASONS,
            google_error,
            key_refused,
            probe,
            session_from_connection,
        )

        session, api_url, settings = session_from_connection(self.conn_id)
        retrying = retrying_while_unreachable()
        with session:
            try:
                response = retrying(probe, session, api_url, settings)
            except (requests.ConnectionError, requests.Timeout) as exc:
                reason = unreachable_reason(exc)
                if reason is None:
                    log.info("%s cannot be reached yet (%s)", self.conn_id, type(exc).__name__)
                else:
                    log.warning("%s at %s %s on %d tries in a row: is the host right? Check the %r connection. "
                                "Still waiting, up to %.0fs in all", self.conn_id, api_url, reason,
                                UNREACHABLE_TRIES, self.conn_id, self.timeout)
                return False
        status = response.status_code
        reason, message = google_error(response.text)
        if response.ok:
            log.info("%s at %s takes the key (this check cost 1 quota unit)", self.conn_id, api_url)
            return True
        if status == 403 and reason in QUOTA_REASONS:
            log.warning("%s: today's quota is spent already (403 %s): the ingest will end at once as a partial "
                        "crawl, and the next run resumes", self.conn_id, reason)
            return True
        if status in (400, 401, 403) and (reason in KEY_REASONS or status == 401):
            raise AirflowFailException(str(key_refused(self.conn_id, status, reason, message)))
        if status == 429 or status >= 500 or status == 403:
            log.info("%s answered %s %s; waiting", self.conn_id, status, reason)
            return False
        raise AirflowFailException(f"{self.conn_id} at {api_url} answered {status} {reason}: {message}: check the "
                                   f"{self.conn_id!r} connection")


class InboxSensor(BaseSensorOperator):
    """Waits for files in an inbox that are not in bronze yet (``pending_exports`` of the module that reads
    the inbox, ``exports_module``). Meant to run with ``soft_fail``: when nothing new arrives before the
    timeout the ingest is skipped and the run goes on."""

    template_fields = ("inbox",)

    def __init__(self, *, inbox: str, exports_module: str = "pulse.spotify_exports", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inbox = inbox
        self.exports_module = exports_module

    def poke(self, context: Any) -> bool:
        from importlib import import_module

        from pulse.config import lake_root

        pending = import_module(self.exports_module).pending_exports(self.inbox, lake_root())
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
