"""``python -m pulse.dashboards``: render every dashboard from the ``pulse_warehouse`` connection now.

``--listener <name>`` renders the pages of one listener's data only (the Spotify page and an index), by
default into ``$PULSE_HOME/dashboards/listeners/<name>/``: a file to hand to that listener."""

from __future__ import annotations

import argparse
from pathlib import Path

from pulse.dashboards.render import render_from_warehouse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pulse.dashboards", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="output folder (default $PULSE_HOME/dashboards, or "
                                                 "$PULSE_HOME/dashboards/listeners/<name> with --listener)")
    parser.add_argument("--listener", help="render only this listener's pages, holding its data alone")
    args = parser.parse_args(argv)
    try:
        written = render_from_warehouse(args.out, args.listener)
    except ValueError as error:
        parser.exit(2, f"dashboards: {error}\n")
    print(f"dashboards: {written['index.html']}")


if __name__ == "__main__":
    main()
