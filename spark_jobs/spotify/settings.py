"""The Spotify gold job's settings. Definitions: ``docs/spotify_metrics.md``.

The defaults below are the only definition of each value: the DAG passes them to the job
(``pulse.sources.spotify``), the job reads them back. No pyspark here, so the DAG files can import it.
"""

from __future__ import annotations

from dataclasses import dataclass

from spark_jobs.common.settings import JobSettings


@dataclass(frozen=True)
class GoldSettings(JobSettings):
    """The gold job's thresholds.

    ``skip_threshold_ms``: a play whose source does not say whether it was skipped counts as skipped
    below this many milliseconds. ``loyalty_persistence_weeks``: the scale ``k`` of the loyalty
    score's persistence ``1 − exp(−weeks / k)``.
    """

    skip_threshold_ms: int = 30_000
    loyalty_persistence_weeks: float = 4.0

    def __post_init__(self) -> None:
        if self.skip_threshold_ms <= 0:
            raise ValueError(f"--skip-threshold-ms ({self.skip_threshold_ms}) must be a positive number of "
                             "milliseconds, e.g. 30000")
        if not self.loyalty_persistence_weeks > 0:
            raise ValueError(f"--loyalty-persistence-weeks ({self.loyalty_persistence_weeks}) must be a "
                             "positive number of weeks, e.g. 4")
