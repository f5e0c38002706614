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
        from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_fixed

        from pulse.api_sensor import UNREACHABLE_PAUSE_SECONDS, UNREACHABLE_TRIES, unreachable_reason
        from pulse.http_ingest import IngestError, RetryableAnswer
        from pulse.spotify_client import APP, SpotifyTokens, session_from_connection

        session, _, settings = session_from_connection(self.conn_id)
        retrying = Retrying(stop=stop_after_attempt(UNREACHABLE_TRIES), wait=wait_fixed(UNREACHABLE_PAUSE_SECONDS),
                            retry=retry_if_exception(lambda exc: unreachable_reason(exc) is not None),
                            reraise=True)
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
