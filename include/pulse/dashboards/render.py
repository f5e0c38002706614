"""Writing the dashboards: HTML pages with their data embedded, and the scripts they run, beside them.

``render_dashboards(conn, out_dir)`` reads the reporting views (:mod:`pulse.dashboards.data`) and writes

    out_dir/index.html              links to every dashboard, with each source's last publish
    out_dir/creators.html           creators, page 1: KPI cards, monetized content, engagement trend
    out_dir/creators-details.html   creators, page 2: bands, tiers, content type x platform, benchmarks
    out_dir/creators-competitors.html  creators, page 3: our channels against competitors (YouTube crawl, exports)
    out_dir/spotify.html            Spotify command center, per listener
    out_dir/assets/                 plotly.min.js (from the plotly package), pulse.css and the pages' scripts

A page is static: its data are embedded as JSON, its charts are drawn by Plotly in the browser, and
it opens from disk with no network (no CDN). A source that has not been published has no page; the
index says so. Each file is written beside its place and moved in, so a reader never sees half a page.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from pulse.config import pulse_home
from pulse.dashboards import data

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"

SAFE_FOLDER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
PAGES = {
    "creator": (("creators.html", "creators_overview.html"), ("creators-details.html", "creators_details.html"),
                ("creators-competitors.html", "creators_competitors.html")),
    "spotify": (("spotify.html", "spotify.html"),),
}


def dashboards_dir() -> Path:
    """Where the dashboards are written: ``$PULSE_HOME/dashboards``."""
    return pulse_home() / "dashboards"


def embedded_json(value: Any) -> Markup:
    """``value`` as JSON that is safe inside ``<script type="application/json">`` (no ``</script>``)."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["embedded_json"] = embedded_json
    return env


def _write(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def _copy_if_changed(source: Path, target: Path) -> None:
    if target.exists() and target.stat().st_size == source.stat().st_size and \
            target.read_bytes() == source.read_bytes():
        return
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    shutil.copyfile(source, partial)
    partial.replace(target)


def plotly_js() -> Path:
    """plotly.min.js as the plotly Python package ships it."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


def write_assets(out_dir: Path) -> None:
    assets = out_dir / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    _copy_if_changed(plotly_js(), assets / "plotly.min.js")
    for path in sorted(STATIC_DIR.iterdir()):
        if path.suffix in (".js", ".css"):
            _copy_if_changed(path, assets / path.name)


def listener_dashboards_dir(listener: str) -> Path:
    """Where ``--listener`` writes one listener's pages: ``$PULSE_HOME/dashboards/listeners/<listener>``."""
    if not SAFE_FOLDER_NAME.fullmatch(listener):
        raise ValueError(f"the listener name {listener!r} is not a plain folder name: give the output folder "
                         f"(--out)")
    return dashboards_dir() / "listeners" / listener


def render_dashboards(conn, out_dir: Path | None = None, now: dt.datetime | None = None,
                      listener: str | None = None) -> dict[str, Path]:
    """Render every dashboard that has data, and the index, into ``out_dir`` (default
    :func:`dashboards_dir`). Returns the written pages by file name (``index.html`` always).

    With ``listener``, only the pages of per-listener data (Spotify) are written, holding that
    listener's rows alone, and the index leaves out gold's row counts (every listener's)."""
    out_dir = Path(out_dir or (listener_dashboards_dir(listener) if listener is not None else dashboards_dir()))
    now = now or dt.datetime.now(dt.UTC)
    env = _environment()
    if listener is None:
        payloads = {"creator": data.creator_data(conn), "spotify": data.spotify_data(conn)}
        freshness = data.freshness(conn)
    else:
        payloads = {"creator": None, "spotify": data.spotify_data(conn, listener)}
        if payloads["spotify"] is None or not payloads["spotify"]["kpis"]["rows"]:
            raise ValueError(f"listener {listener!r} has no row in reporting.spotify_kpis: check the name "
                             f"(the listener's inbox folder)")
        freshness = [{**entry, "gold_rows": None, "tables": None}
                     for entry in data.freshness(conn) if entry["source"] == "spotify"]
    out_dir.mkdir(parents=True, exist_ok=True)
    write_assets(out_dir)
    published = {f["source"]: f for f in freshness}
    written: dict[str, Path] = {}
    for source, pages in PAGES.items():
        for file_name, template in pages:
            path = out_dir / file_name
            if payloads[source] is None:
                path.unlink(missing_ok=True)  # gold is gone: no page rather than a stale one
                continue
            html = env.get_template(template).render(
                data=payloads[source], freshness=published.get(source), rendered_at=now.isoformat(),
                page=file_name)
            _write(path, html)
            written[file_name] = path
    index_entries = [
        {**entry, "pages": [name for name, _ in PAGES[entry["source"]] if name in written]}
        for entry in freshness
    ]
    _write(out_dir / "index.html", env.get_template("index.html").render(
        entries=index_entries, data={"sources": index_entries, "rendered_at": now.isoformat()},
        rendered_at=now.isoformat(), page="index.html"))
    written["index.html"] = out_dir / "index.html"
    return written


def render_from_warehouse(out_dir: Path | None = None, listener: str | None = None) -> dict[str, str]:
    """Render every dashboard (or ``listener``'s) from the ``pulse_warehouse`` connection; returns the
    written paths."""
    import logging

    from pulse.tasks import warehouse_connection

    conn = warehouse_connection()
    try:
        written = render_dashboards(conn, out_dir, listener=listener)
    finally:
        conn.close()
    for name, path in written.items():
        logging.getLogger(__name__).info("dashboard %s: %s", name, path)
    return {name: str(path) for name, path in written.items()}
