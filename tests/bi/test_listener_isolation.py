"""Per-listener isolation over a real published Spotify gold (the gold job's own tables, six listeners,
published with the reporting views and BI grants as a DAG run does): as each role, the listeners visible
in every per-listener gold table, every gold view and every Spotify reporting view; and the dashboards
rendered for one listener hold that listener's data alone."""

from __future__ import annotations

import json
import re

import pytest
from psycopg import errors

from pulse.bi_access import BI_ROLE, add_listener_login
from pulse.dashboards.render import render_dashboards
from tests.bi.conftest import connect

pytestmark = pytest.mark.spark


def per_listener_relations(admin) -> list[str]:
    """Every relation of gold and reporting with a ``listener`` column."""
    return [r[0] for r in admin.execute(
        "SELECT format('%I.%I', table_schema, table_name) FROM information_schema.columns "
        "WHERE table_schema IN ('gold', 'reporting') AND column_name = 'listener' ORDER BY 1")]


def visible_listeners(conn, relation: str) -> list[str]:
    return [r[0] for r in conn.execute(f"SELECT DISTINCT listener FROM {relation} ORDER BY 1")]


@pytest.fixture(scope="module")
def listener_logins(bi_warehouse):
    """One login per listener of the published gold: {listener: login}."""
    with connect(bi_warehouse) as admin:
        listeners = visible_listeners(admin, "gold.fact_track_breakdown")
        logins = {listener: f"pulse_test_{listener}" for listener in listeners}
        for listener, login in logins.items():
            assert add_listener_login(admin, login, [listener]) > 0
    yield logins
    with connect(bi_warehouse) as admin:
        for login in logins.values():
            admin.execute(f"DROP OWNED BY {login}")
            admin.execute(f"DROP ROLE {login}")
        admin.execute("DELETE FROM pulse_meta.bi_listener_logins")


def test_every_spotify_table_and_view_has_a_listener_column_and_several_listeners(bi_warehouse, listener_logins):
    with connect(bi_warehouse) as admin:
        relations = per_listener_relations(admin)
        spotify_views = [f"reporting.{r[0]}" for r in admin.execute(
            "SELECT viewname FROM pg_views WHERE schemaname = 'reporting' AND viewname LIKE 'spotify%'")]
    assert set(spotify_views) <= set(relations) and len(spotify_views) == 10
    assert {"gold.fact_track_breakdown", "gold.agg_listener_artists", "gold.agg_listener_albums",
            "gold.agg_listening_timeline", "gold.agg_top_tracks", "gold.dim_artist_stats"} <= set(relations)
    assert len(listener_logins) == 6


def test_each_listener_login_sees_only_its_listener_in_every_table_and_view(bi_warehouse, listener_logins):
    with connect(bi_warehouse) as admin:
        relations = per_listener_relations(admin)
        everyone = {relation: visible_listeners(admin, relation) for relation in relations}
    assert all(len(names) >= 2 for names in everyone.values()), everyone  # there is something to isolate
    for listener, login in listener_logins.items():
        with connect(bi_warehouse, user=login) as conn:
            seen = {relation: visible_listeners(conn, relation) for relation in relations}
        expected = {relation: [listener] if listener in names else [] for relation, names in everyone.items()}
        assert seen == expected, listener


def test_pulse_bi_sees_every_listener_in_every_table_and_view(bi_warehouse, listener_logins):
    with connect(bi_warehouse) as admin:
        relations = per_listener_relations(admin)
        everyone = {relation: visible_listeners(admin, relation) for relation in relations}
    with connect(bi_warehouse, user=BI_ROLE) as bi:
        assert {relation: visible_listeners(bi, relation) for relation in relations} == everyone
    assert len(everyone["reporting.spotify_kpis"]) == 6


@pytest.mark.parametrize("relation", ["gold.dim_creators", "gold.fact_engagement", "reporting.creator_kpis"])
def test_a_listener_login_reads_no_creator_data(bi_warehouse, listener_logins, relation):
    with connect(bi_warehouse, user=listener_logins["sam"]) as sam, pytest.raises(errors.InsufficientPrivilege):
        sam.execute(f"SELECT count(*) FROM {relation}")


def embedded_listeners(page) -> set[str]:
    """Every value of a ``listener`` column in the data a page embeds."""
    html = page.read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script id="pulse-data" type="application/json">(.*?)</script>', html,
                                re.S).group(1))
    found = set()
    for table in data.values():
        if isinstance(table, dict) and "listener" in table.get("columns", []):
            column = table["columns"].index("listener")
            found |= {row[column] for row in table["rows"]}
    return found


def test_the_dashboards_rendered_for_one_listener_hold_only_that_listener(bi_warehouse, dashboards, tmp_path,
                                                                         listener_logins):
    everyone = embedded_listeners(dashboards / "spotify.html")
    assert len(everyone) == 6  # the full render embeds every listener
    with connect(bi_warehouse) as admin:
        written = render_dashboards(admin, tmp_path, listener="sam")
    assert sorted(written) == ["index.html", "spotify.html"]
    assert embedded_listeners(tmp_path / "spotify.html") == {"sam"}
    page = (tmp_path / "spotify.html").read_text(encoding="utf-8")
    for other in everyone - {"sam"}:
        assert f'"{other}"' not in page, other
    assert "creators.html" not in (tmp_path / "index.html").read_text(encoding="utf-8")


def test_the_dashboards_refuse_a_listener_that_has_no_data(bi_warehouse, tmp_path):
    with connect(bi_warehouse) as admin, pytest.raises(ValueError, match="'nobody' has no row"):
        render_dashboards(admin, tmp_path, listener="nobody")
