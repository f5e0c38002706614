"""What every Pulse DAG shares and that costs nothing to import: default task arguments and the gold Assets."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, AssetAny

from pulse import config

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")
"""The first day of every Pulse DAG (none catches up: a run for an older day is a backfill)."""

DEFAULT_ARGS = {
    "owner": "pulse",
    "retries": 2,
    "retry_delay": timedelta(seconds=config.retry_delay_seconds()),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}


def gold_asset(table: str) -> Asset:
    """The Asset a published gold table is: downstream DAGs (the dashboards, Power BI) schedule on it."""
    return Asset(name=f"gold.{table}", uri=f"pulse://warehouse/gold/{table}", group="gold")


def all_gold_assets() -> list[Asset]:
    """The gold tables of every source."""
    from pulse.sources import SOURCES

    return [gold_asset(table.name) for source in SOURCES.values() for table in source.gold_tables]


def on_gold_published() -> dict:
    """The ``@dag`` settings of a BI DAG (dashboards, Power BI): scheduled whenever any source publishes gold,
    one run at a time, no catch-up."""
    return {
        "schedule": AssetAny(*all_gold_assets()),
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "default_args": DEFAULT_ARGS,
    }
