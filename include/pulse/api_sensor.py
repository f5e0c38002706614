"""The sensor of an HTTP input: waits until the API's health URL answers."""

from __future__ import annotations

from typing import Any

import requests
from airflow.providers.http.hooks.http import HttpHook
from airflow.providers.http.sensors.http import HttpSensor
from airflow.sdk.exceptions import AirflowSensorTimeout


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
