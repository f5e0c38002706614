"""Rendering the dashboards: what lands on disk, without a browser."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.stack import connection_env
from pulse.dashboards.render import embedded_json, plotly_js, render_dashboards
from tests.bi.conftest import connect

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.spark


def test_every_page_and_its_scripts_are_on_disk_with_plotly_from_the_python_package(dashboards):
    pages = sorted(p.name for p in dashboards.glob("*.html"))
    assert pages == ["creators-competitors.html", "creators-details.html", "creators.html", "index.html",
                     "spotify.html"]
    assert (dashboards / "assets" / "plotly.min.js").read_bytes() == plotly_js().read_bytes()
    for page in pages:
        html = (dashboards / page).read_text()
        for src in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not src.startswith(("http:", "https:", "//")), f"{page} loads {src} from the network"
            if not src.startswith(("data:", "#")):
                assert (dashboards / src.split("#")[0]).exists(), f"{page} links to a missing {src}"


def embedded(page: Path) -> dict:
    html = page.read_text()
    return json.loads(re.search(r'<script id="pulse-data" type="application/json">(.*?)</script>', html,
                                re.S).group(1))


def test_each_page_embeds_the_reporting_views_it_draws(dashboards):
    creators = embedded(dashboards / "creators.html")
    assert {"kpis", "trend", "bands", "tiers", "content", "competitors", "niche"} <= creators.keys()
    assert creators["trend"]["columns"][:2] == ["date", "platform"] and creators["trend"]["rows"]
    spotify = embedded(dashboards / "spotify.html")
    assert sorted(r[0] for r in spotify["kpis"]["rows"]) == ["ida", "mia", "rae", "rita", "sam", "tina"]


def test_the_competitors_page_embeds_the_channel_views_and_each_platforms_top_videos_of_each_role(
        dashboards, bi_warehouse):
    page = embedded(dashboards / "creators-competitors.html")
    assert {"trend", "channels", "channel_days", "channel_weeks", "top_videos", "sources"} <= page.keys()
    for name in ("channels", "channel_days", "channel_weeks", "top_videos", "sources"):
        assert page[name]["rows"], name
    roles = {r[page["channel_days"]["columns"].index("role")] for r in page["channel_days"]["rows"]}
    assert roles == {"ours", "competitor"}
    with connect(bi_warehouse) as conn:
        top = conn.execute("SELECT video_id FROM reporting.creator_top_videos WHERE views_rank <= 10 "
                           "ORDER BY views_rank").fetchall()
    embedded_ids = {r[page["top_videos"]["columns"].index("video_id")] for r in page["top_videos"]["rows"]}
    assert {video_id for (video_id,) in top} <= embedded_ids  # the overall top ten is among them


def test_without_a_youtube_crawl_or_exports_the_competitors_page_says_so_instead_of_drawing(
        dashboards_without_channels):
    html = (dashboards_without_channels / "creators-competitors.html").read_text()
    assert 'id="competitors-empty"' in html and "No YouTube crawl or creator exports were published" in html
    assert 'class="chart"' not in html
    assert embedded(dashboards_without_channels / "creators-competitors.html")["channels"]["rows"] == []
    assert 'class="chart"' in (dashboards_without_channels / "creators.html").read_text()  # the others are drawn


def test_a_source_never_published_has_no_page_and_the_index_says_so(pg_conn, tmp_path):
    written = render_dashboards(pg_conn, tmp_path)
    assert sorted(written) == ["index.html"]
    index = (tmp_path / "index.html").read_text()
    assert index.count("never published") == 2 and index.count("gold not published") == 2


def test_embedded_data_cannot_close_its_script_tag():
    text = str(embedded_json({"name": "</script><script>alert(1)</script>", "amp": "a & b"}))
    assert "</script>" not in text and "<" not in text and "&" not in text
    assert json.loads(text) == {"name": "</script><script>alert(1)</script>", "amp": "a & b"}


def test_python_m_pulse_dashboards_renders_from_the_pulse_warehouse_connection_and_prints_the_index(
        bi_warehouse, tmp_path):
    """What ``make demo`` runs at its end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW__"))}
    env.update(connection_env({"pulse_warehouse": bi_warehouse}))
    env.update(AIRFLOW_HOME=str(tmp_path / "airflow"), PULSE_HOME=str(tmp_path / "home"),
               PYTHONPATH=os.pathsep.join([str(REPO / "include"), str(REPO)]))
    done = subprocess.run([sys.executable, "-m", "pulse.dashboards"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    index = tmp_path / "home" / "dashboards" / "index.html"
    assert done.stdout.strip().splitlines()[-1] == f"dashboards: {index}"  # after Airflow's log lines
    assert sorted(p.name for p in index.parent.glob("*.html")) == [
        "creators-competitors.html", "creators-details.html", "creators.html", "index.html", "spotify.html"]
