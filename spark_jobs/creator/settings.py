"""The creator gold job's settings: the performance bands' and monetization tiers' thresholds, and our own
platform's name and commission (configuration, not API data). Definitions: ``docs/creator_metrics.md``.

The defaults below are the only definition of each value: the DAG passes them to the job
(``pulse.sources.creator``), the job reads them back. No pyspark here, so the DAG files can import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from spark_jobs.common.settings import JobSettings


@dataclass(frozen=True)
class GoldSettings(JobSettings):
    """The gold job's thresholds and our own platform's configuration (not API data)."""

    trending_reach: int = 25_000
    viral_reach: int = 100_000
    mid_earner_revenue: Decimal = Decimal("50")
    top_earner_revenue: Decimal = Decimal("500")
    our_platform: str = "Mainstack"
    our_commission_percentage: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.trending_reach < self.viral_reach:
            raise ValueError(f"--trending-reach ({self.trending_reach}) must be positive and below "
                             f"--viral-reach ({self.viral_reach})")
        if not 0 < self.mid_earner_revenue < self.top_earner_revenue:
            raise ValueError(f"--mid-earner-revenue ({self.mid_earner_revenue}) must be positive and below "
                             f"--top-earner-revenue ({self.top_earner_revenue})")
        if not self.our_platform.strip():
            raise ValueError("--our-platform must name our platform, e.g. Mainstack")
