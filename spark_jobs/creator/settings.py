"""The creator gold job's settings: the performance bands' and monetization tiers' thresholds, our own
platform's name and commission, and the niches a user gives accounts (configuration, not API data).
Definitions: ``docs/creator_metrics.md``.

The defaults below are the only definition of each value: the DAG passes them to the job
(``pulse.sources.creator``), the job reads them back. The account segments are an Airflow Variable, read when
the gold task runs (:data:`ACCOUNT_SEGMENTS_ARGS`), so a user changes them without a deployment. No pyspark
here, so the DAG files can import it.
"""

from __future__ import annotations

import json
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


ACCOUNT_SEGMENTS_VARIABLE = "creator_account_segments"
"""The Airflow Variable that gives channels and export accounts a niche of the user's choosing, as JSON:
``{"<platform>": {"<channel id or inbox account>": "<segment>"}}``, e.g.
``{"instagram": {"thecleverprogrammer": "Science & Technology"}}``. A segment wins over the YouTube category."""
ACCOUNT_SEGMENTS_OPTION = "account-segments"
ACCOUNT_SEGMENTS_ARGS = (f"--{ACCOUNT_SEGMENTS_OPTION}",
                         "{{ var.value.get('" + ACCOUNT_SEGMENTS_VARIABLE + "', '{}') }}")
"""The gold job's arguments that pass the Variable's text, rendered when the task runs ("{}" when unset)."""


def parse_account_segments(text: str, platforms: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """The segments of :data:`ACCOUNT_SEGMENTS_VARIABLE`'s JSON ``text``, by platform then account, each
    stripped of surrounding blanks. Raises ``ValueError`` naming the Variable and what is wrong with it: not
    JSON, not an object of objects, a platform not in ``platforms``, an empty account or segment."""
    where = f"Airflow Variable {ACCOUNT_SEGMENTS_VARIABLE}"
    shape = '{"<platform>": {"<channel id or account>": "<segment>"}}'
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where} is not JSON ({exc}); it should be {shape}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{where} is a JSON {type(value).__name__}; it should be an object: {shape}")
    segments: dict[str, dict[str, str]] = {}
    for platform, accounts in value.items():
        if platform not in platforms:
            raise ValueError(f"{where} names platform {platform!r}; the platforms are {', '.join(platforms)}")
        if not isinstance(accounts, dict):
            raise ValueError(f"{where}[{platform!r}] is not an object of accounts and segments: {shape}")
        for account, segment in accounts.items():
            if not account.strip() or not isinstance(segment, str) or not segment.strip():
                raise ValueError(f"{where}[{platform!r}][{account!r}] = {segment!r}: an account and its segment "
                                 "must be non-empty strings")
            segments.setdefault(platform, {})[account.strip()] = segment.strip()
    return segments
