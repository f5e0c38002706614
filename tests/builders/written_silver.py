"""What a silver job left in a lake, in a form two lakes can be compared by."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def silver_tables(spark, lake: Path, source: str, datasets: Iterable[str]) -> dict[str, list]:
    """Each silver dataset of ``source`` and its quarantine, rows sorted; the quarantine without ``run_id``
    (which run quarantined a row differs by construction between an incremental lake and a rebuild)."""
    datasets = list(datasets)
    out = {}
    for name in [*datasets, *(f"_quarantine/{n}" for n in datasets)]:
        frame = spark.read.format("delta").load(str(lake / "silver" / source / name))
        if name.startswith("_quarantine"):
            frame = frame.drop("run_id")
        out[name] = sorted(frame.collect(), key=lambda r: tuple(str(v) for v in r))
    return out
