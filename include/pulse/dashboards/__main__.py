"""``python -m pulse.dashboards``: render every dashboard from the ``pulse_warehouse`` connection now."""

from __future__ import annotations

import argparse
from pathlib import Path

from pulse.dashboards.render import render_from_warehouse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pulse.dashboards", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="output folder (default $PULSE_HOME/dashboards)")
    args = parser.parse_args(argv)
    written = render_from_warehouse(args.out)
    print(f"dashboards: {written['index.html']}")


if __name__ == "__main__":
    main()
