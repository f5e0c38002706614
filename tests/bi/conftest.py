"""Fixtures of the BI tests: a small real gold published into the test Postgres, the dashboards rendered
from it, and a headless Chromium (Debian's ``chromium``, driven by Playwright)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from pulse.sources.creator import CREATOR
from pulse.sources.spotify import SPOTIFY
from tests.browser import CHROMIUM, BoundedBrowser
from tests.builders.gold_lakes import build_creator_gold, build_spotify_gold, publish

REPO = Path(__file__).resolve().parents[2]
# Kept after the run (pytest rotates its basetemp away); PULSE_SCREENSHOTS moves them, e.g. for CI artifacts.
SCREENSHOTS = Path(os.environ.get("PULSE_SCREENSHOTS", REPO / ".pulse" / "screenshots"))


@pytest.fixture(scope="session")
def gold_lakes(spark, tmp_path_factory, worker_id) -> dict[str, Path]:
    """Gold of both sources, written by the real gold jobs from generated silver; read only by the tests.

    Built once per test run: under pytest-xdist, the first worker that needs it builds it in the folder all
    workers' temporary folders share, while the others wait on a lock file there, then read it."""
    basetemp = tmp_path_factory.getbasetemp()
    shared = basetemp if worker_id == "master" else basetemp.parent
    built = shared / "bi_lake.json"
    with open(shared / "bi_lake.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not built.exists():
            lake = shared / "bi_lake"
            # Two threads on one session: the jobs are many small stages, so they overlap well.
            with ThreadPoolExecutor(2) as pool:
                creator = pool.submit(build_creator_gold, spark, lake)
                spotify = pool.submit(build_spotify_gold, spark, lake)
                built.write_text(json.dumps({"creator": str(creator.result()), "spotify": str(spotify.result())}))
    return {source: Path(path) for source, path in json.loads(built.read_text()).items()}


def connect(warehouse: dict, user: str = "postgres", **kwargs) -> psycopg.Connection:
    return psycopg.connect(host=warehouse["host"], port=warehouse["port"], user=user, dbname=warehouse["schema"],
                           autocommit=True, **kwargs)


def hand_made_gold(conn: psycopg.Connection, listeners: dict[str, int], grants: str) -> None:
    """A small gold (``fact_plays`` of ``listeners`` and their plays, ``dim_day``) with a reporting view
    over it, granted with ``grants`` (SQL of :func:`pulse.bi_access.grants_sql`)."""
    conn.execute("CREATE SCHEMA gold")
    conn.execute("CREATE SCHEMA reporting")
    conn.execute("CREATE SCHEMA pulse_meta")
    conn.execute("CREATE TABLE gold.fact_plays (listener text, plays integer)")
    with conn.cursor() as cursor:
        cursor.executemany("INSERT INTO gold.fact_plays VALUES (%s, %s)", list(listeners.items()))
    conn.execute("CREATE TABLE gold.dim_day AS SELECT DATE '2026-12-01' AS day")
    conn.execute("CREATE VIEW reporting.spotify_plays WITH (security_invoker = true) AS "
                 "SELECT listener, sum(plays) AS plays FROM gold.fact_plays GROUP BY listener")
    conn.execute(grants)


def login(admin: psycopg.Connection, user: str, **kwargs) -> psycopg.Connection:
    """A connection as ``user`` to the database of ``admin``'s connection."""
    info = admin.info
    return psycopg.connect(host=info.host, port=info.port, user=user, dbname=info.dbname, autocommit=True, **kwargs)


def bi_database(postgres: dict) -> dict:
    """The ``pulse_warehouse`` connection of the BI tests' warehouse (database ``bi`` of the test server)."""
    return {**postgres, "schema": "bi"}


@pytest.fixture(scope="session")
def bi_warehouse(postgres, gold_lakes) -> dict:
    """A warehouse database with both sources published (reporting views and BI grants included)."""
    admin = psycopg.connect(host=postgres["host"], port=postgres["port"], user="postgres", dbname="postgres",
                            autocommit=True)
    admin.execute("DROP DATABASE IF EXISTS bi WITH (FORCE)")
    admin.execute("CREATE DATABASE bi")
    admin.close()
    warehouse = bi_database(postgres)
    with connect(warehouse) as conn:
        publish(conn, CREATOR, gold_lakes["creator"])
        publish(conn, SPOTIFY, gold_lakes["spotify"])
    return warehouse


@pytest.fixture(scope="session")
def dashboards(bi_warehouse, tmp_path_factory) -> Path:
    """The dashboards rendered from ``bi_warehouse``; returns their folder."""
    from pulse.dashboards.render import render_dashboards

    out = tmp_path_factory.mktemp("dashboards")
    with connect(bi_warehouse) as conn:
        render_dashboards(conn, out)
    return out


@pytest.fixture(scope="session")
def dashboards_without_channels(bi_warehouse, tmp_path_factory) -> Path:
    """The dashboards as ``bi_warehouse`` renders them without a YouTube crawl or exports: rendered inside a
    transaction that empties the four channel tables, then rolled back. Returns their folder."""
    from pulse.dashboards.render import render_dashboards
    from spark_jobs.creator.gold_channels import CHANNEL_TABLES

    out = tmp_path_factory.mktemp("dashboards_without_channels")
    with connect(bi_warehouse) as conn, conn.transaction(force_rollback=True):
        for table in CHANNEL_TABLES:
            conn.execute(f"DELETE FROM gold.{table}")
        render_dashboards(conn, out)
    return out


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium, every step bounded (``tests/browser.py``). ``make test`` installs Debian's
    chromium when it is missing."""
    if not shutil.which(CHROMIUM):
        message = (f"{CHROMIUM} not found: install Debian's chromium with `sudo apt-get install -y "
                   f"--no-install-recommends chromium` (`make test` does it when run as root), or set PULSE_CHROMIUM")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = BoundedBrowser(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
