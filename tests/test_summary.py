"""``python -m pulse.summary``'s text, on a scripted warehouse answer and a silver ``_counts.json``."""

from __future__ import annotations

import datetime as dt
import json
import re

from pulse.sources.creator import CREATOR
from pulse.summary import summary_text


class Answers:
    """A connection whose queries answer, in turn, the last publish and no ``creator_kpis`` or
    ``creator_content_by_source`` view."""

    def __init__(self):
        published = (dt.date(2026, 12, 3), dt.datetime(2026, 12, 4, 19, 29, 16, tzinfo=dt.UTC),
                     {"fact_content": 60091, "dim_channels": 12})
        self.rows = [published, (False,), (False,)]

    def execute(self, *_):
        return self

    def fetchone(self):
        return self.rows.pop(0)


def test_the_silver_lines_keep_their_columns_whatever_the_datasets_names(tmp_path):
    counts = {name: {"bronze_rows": rows, "valid_rows": rows, "silver_rows": rows, "quarantined_rows": 0,
                     "duplicates_dropped": 0, "mode": "full"}
              for name, rows in (("content", 60091), ("export_account_days", 28), ("video_snapshots", 95))}
    silver = tmp_path / "silver" / "creator"
    silver.mkdir(parents=True)
    (silver / "_counts.json").write_text(json.dumps(counts))

    text = summary_text(CREATOR, Answers(), tmp_path)

    lines = [line for line in text.splitlines() if re.match(r"  \w+ +[\d,]+ →", line)]
    assert [line.split()[0] for line in lines] == list(counts)
    assert len({line.index("→") for line in lines}) == 1, lines  # the arrows line up
    assert "  fact_content                   60,091 rows" in text
