"""The pipelines Pulse runs, by name."""

from pulse.sources.base import Source
from pulse.sources.creator import CREATOR
from pulse.sources.spotify import SPOTIFY

SOURCES: dict[str, Source] = {s.name: s for s in (CREATOR, SPOTIFY)}
