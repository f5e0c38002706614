"""The sensor of an HTTP input: waits until the API's health URL answers.

It asks the connection's ``HttpHook`` (the http provider's), imported when the sensor pokes rather than
when a DAG file is parsed: the hook pulls in aiohttp and more, which the dag-processor would otherwise pay
at every parse of every DAG with an HTTP input.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

log = logging.getLogger(__name__)  # a task's log, as every Pulse module's; and what tests capture

UNREACHABLE_TRIES = 3
"""Tries, within one poke, before a refused connection or an unknown host name is reported as a WARNING."""
UNREACHABLE_PAUSE_SECONDS = 1.0


def unreachable_reason(exc: BaseException) -> str | None:
    """Why nothing can answer at the address, when ``exc`` (or what caused it) says so: the connection was
    refused, or the host name does not resolve. None for a failure that may pass (a timeout, a reset)."""
    seen: set[int] = set()
    pending: list[Any] = [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return "refused the connection (nothing listens there)"
        if isinstance(current, socket.gaierror):
            return "could not be found (the host name does not resolve)"
        # requests wraps urllib3's errors in args, urllib3 keeps the cause in .reason
        pending += [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
    return None


def retrying_while_unreachable():
    """A tenacity ``Retrying`` that tries a call again while nothing answers at its address
    (:func:`unreachable_reason`), :data:`UNREACHABLE_TRIES` tries in all, then raises what the last raised."""
    from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_fixed

    return Retrying(stop=stop_after_attempt(UNREACHABLE_TRIES), wait=wait_fixed(UNREACHABLE_PAUSE_SECONDS),
                    retry=retry_if_exception(lambda exc: unreachable_reason(exc) is not None), reraise=True)


class ApiAvailableSensor(BaseSensorOperator):
    """Waits until ``GET <connection>/<endpoint>`` answers 2xx. An answer in :attr:`NOT_YET` (not found,
    timed out, rate limited, a server error) or a connection that fails means "poke again later"; any
    other answer (401, 403, …) fails the task at once, naming it, since waiting will not fix it.

    A wrong host is told at once: when the connection is refused, or the host name does not resolve, on
    :data:`UNREACHABLE_TRIES` tries in a row within one poke, the poke logs a WARNING naming the URL (and
    the sensor goes on poking: the API may be starting). Its timeout names the URL it waited for."""

    template_fields = ("endpoint",)
    NOT_YET = frozenset({404, 408, 429, 500, 502, 503, 504})

    def __init__(self, *, http_conn_id: str, endpoint: str, method: str = "GET", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.http_conn_id = http_conn_id
        self.endpoint = endpoint
        self.method = method

    def _hook(self):
        from airflow.providers.http.hooks.http import HttpHook

        return HttpHook(method=self.method, http_conn_id=self.http_conn_id)

    def _ask(self):
        """The health URL's answer; a refused connection or an unknown host is tried again, a few times."""
        return retrying_while_unreachable()(self._hook().run, self.endpoint,
                        extra_options={"check_response": False, "timeout": 30})

    def poke(self, context: Any) -> bool:
        import requests

        try:
            response = self._ask()
        except (requests.ConnectionError, requests.Timeout) as exc:
            reason = unreachable_reason(exc)
            if reason is None:
                log.info("%s cannot be reached yet (%s)", self.http_conn_id, type(exc).__name__)
            else:
                log.warning(
                    "%s at %s %s on %d tries in a row: is the host right? Check the %r connection. Still "
                    "waiting, up to %.0fs in all", self.http_conn_id, self.url(), reason, UNREACHABLE_TRIES,
                    self.http_conn_id, self.timeout)
            return False
        if response.ok:
            return True
        if response.status_code in self.NOT_YET:
            log.info("%s answered %s; waiting", self.http_conn_id, response.status_code)
            return False
        raise AirflowFailException(f"{self.http_conn_id} at {self.url()} answered {response.status_code} "
                                   f"{response.reason}: check the {self.http_conn_id!r} connection")

    def execute(self, context: Any) -> Any:
        try:
            return super().execute(context)
        except AirflowSensorTimeout as exc:
            raise AirflowSensorTimeout(
                f"{self.http_conn_id} at {self.url()} did not answer within {self.timeout:.0f}s: "
                f"is the API up, and does the {self.http_conn_id!r} connection point at it?"
            ) from exc

    def url(self) -> str:
        hook = self._hook()
        hook.get_conn()
        return f"{hook.base_url.rstrip('/')}/{self.endpoint.lstrip('/')}"
