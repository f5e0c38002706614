"""What ``make demo`` feeds the Spotify pipeline besides the Web API simulator: real exports.

``python -m devstack.demo fill-inbox`` drops the real streaming-history exports of
``../shared/realdata/spotify/history/`` (five files from four people who published their own data)
into the Spotify inbox, one listener folder per person, as a listener would after "download your
data". Without that folder it says so and drops nothing: the API input still runs.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from pulse.config import REPO_ROOT, inbox_root

REAL_HISTORY = REPO_ROOT.parent / "shared" / "realdata" / "spotify" / "history"

# The exports' authors, by the repository each file came from (see PROVENANCE.md there): the two
# spotify-music-analysis files are one person's.
LISTENERS = {
    "r-spotify-history-analysis": "cosmoduende",
    "spotify-habits-data-analysis": "23lau",
    "Spotify-Shuffle-Analysis": "erickmay",
    "spotify-music-analysis": "efrrowini",
}


def listener_of(export: Path) -> str:
    """The listener a real export belongs to, from its ``<repository>__<file>`` name."""
    repository = export.name.split("__", 1)[0]
    return LISTENERS[repository]


def fill_inbox(history: Path = REAL_HISTORY, inbox: Path | None = None) -> list[Path]:
    """Copy every real export into ``<inbox>/<listener>/``; returns the files it placed."""
    inbox = inbox or Path(inbox_root("spotify"))
    if not history.is_dir():
        print(f"no real exports at {history}: the Spotify demo runs on the Web API simulator alone "
              f"(drop exports into {inbox}/<listener>/ to add some)")
        return []
    placed = []
    for export in sorted(history.glob("*.json")):
        target = inbox / listener_of(export) / export.name.split("__", 1)[1]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(export, target)
        placed.append(target)
    print(f"dropped {len(placed)} real streaming-history exports into {inbox}")
    return placed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.demo", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["fill-inbox"])
    parser.parse_args(argv)
    fill_inbox()


if __name__ == "__main__":
    main()
