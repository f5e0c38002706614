"""The ``simulator_scale`` trigger param: how much data Pulse's own simulators serve in a run.

Only ever sent to a connection marked as one of Pulse's simulators (``X-Pulse-Simulator`` in its extra,
which the dev stack sets), never to a real API. A source that reads such an API offers the param by
listing :data:`SCALE_PARAM` in its ``extra_params``.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param

SIMULATOR_MARK = "X-Pulse-Simulator"
"""The key, in an HTTP connection's extra, that marks it as one of Pulse's simulators. HttpHook sends
extras as headers, so it is a header the simulator ignores."""

SCALE_PARAM = Param(1.0, type="number", exclusiveMinimum=0, maximum=100,
                    description="How much data Pulse's simulator serves (1 = as configured); sent only to a "
                                "connection marked as a simulator, never to a real API.")


def is_simulator(conn_id: str) -> bool:
    """True when ``conn_id`` is marked as a Pulse simulator: only then may a run send it ``scale``."""
    from airflow.sdk import BaseHook

    return str(BaseHook.get_connection(conn_id).extra_dejson.get(SIMULATOR_MARK, "")).lower() in ("1", "true")


def run_scale(params: dict[str, Any]) -> float | None:
    """The run's scale, or None when it is the simulator's own (1)."""
    scale = params.get("simulator_scale")
    return None if scale in (None, 1, 1.0) else float(scale)


def scale_query(conn_id: str, window) -> dict[str, float]:
    """The query parameter that passes the run's scale to ``conn_id``: none unless it is a simulator."""
    if window.simulator_scale is None or not is_simulator(conn_id):
        return {}
    return {"scale": window.simulator_scale}
