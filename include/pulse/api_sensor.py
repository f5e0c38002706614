"""The sensor of an HTTP input: waits until the API's health URL answers.

It asks the connection's ``HttpHook`` (the http provider's), imported when the sensor pokes rather than
when a DAG file is parsed: the hook pulls in aiohttp and more, which the dag-processor would otherwise pay
at every parse of every DAG with an HTTP input.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout


class ApiAvailableSensor(BaseSensorOperator):
    """Waits until ``GET <connection>/<endpoint>`` answers 2xx. An answer in :attr:`NOT_YET` (not found,
    timed out, rate limited, a server error) or a connection refused or timed out means "poke again
    later"; any other answer (401, 403, …) fails the task at once, naming it, since waiting will not fix
    it. Its timeout names the URL it waited for."""

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

    def poke(self, context: Any) -> bool:
        import requests

        try:
            response = self._hook().run(self.endpoint, extra_options={"check_response": False, "timeout": 30})
        except (requests.ConnectionError, requests.Timeout) as exc:
            self.log.info("%s cannot be reached yet (%s)", self.http_conn_id, type(exc).__name__)
            return False
        if response.ok:
            return True
        if response.status_code in self.NOT_YET:
            self.log.info("%s answered %s; waiting", self.http_conn_id, response.status_code)
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
