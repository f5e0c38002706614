"""An independent reading of the real YouTube trending CSV (``../shared/realdata/creator/datasets``), which the
YouTube simulator serves: what the crawl, silver and gold must hold for its videos."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TrendingVideo:
    channel_title: str
    category_id: str
    counters: tuple[int, int, int]
    """Views, likes and comments."""


def last_trending_days(path: Path, channels: Iterable[str]) -> dict[str, TrendingVideo]:
    """Video id → the video as the CSV has it on its last trending day in September and October, for the videos
    of ``channels`` (titles); the highest counters when that day repeats. An id a spreadsheet took for a formula
    (``#NAME?``: it started with '-') is read back from the thumbnail link (PROVENANCE.md)."""
    wanted = set(channels)
    last: dict[str, tuple[tuple, TrendingVideo]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            day_text, _, month = row["date"].partition(".")
            if row["channel_title"] not in wanted or month not in ("09", "1"):
                continue
            video_id = row["video_id"]
            if video_id == "#NAME?":
                video_id = row["thumbnail_link"].split("/vi/")[1].split("/")[0]
            counters = (int(row["views"]), int(row["likes"]), int(row["comment_total"]))
            order = ((9 if month == "09" else 10, int(day_text)), counters)
            if video_id not in last or order > last[video_id][0]:
                last[video_id] = (order, TrendingVideo(row["channel_title"], row["category_id"], counters))
    return {video_id: video for video_id, (_, video) in last.items()}
