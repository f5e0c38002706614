"""The sensor that waits for a source's API to answer."""

from __future__ import annotations

from typing import Any

import requests
from airflow.providers.http.hooks.http import HttpHook
from airflow.providers.http.sensors.http import HttpSensor
from airflow.sdk.exceptions import AirflowException, AirflowSensorTimeout


class ApiAvailableSensor(HttpSensor):
    """An ``HttpSensor`` that treats an API that cannot be reached, or answers 5xx, as "not yet"
    (poke again later) instead of an error, and whose timeout names the URL it waited for."""

    def poke(self, context: Any) -> bool:
        try:
            return bool(super().poke(context))
        except (requests.ConnectionError, requests.Timeout) as exc:
            self.log.info("%s cannot be reached yet (%s)", self.http_conn_id, type(exc).__name__)
            return False
        except AirflowException as exc:
            if str(exc)[:1] == "5":
                self.log.info("%s answered %s; waiting", self.http_conn_id, exc)
                return False
            raise

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
