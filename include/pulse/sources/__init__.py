"""The pipelines Pulse runs, by name."""

from pulse.sources.base import Source
from pulse.sources.creator import CREATOR

SOURCES: dict[str, Source] = {s.name: s for s in (CREATOR,)}
