"""``make demo``: the embedded stack, both pipelines and the dashboards, told as a short story.

``python -m devstack.demo run`` starts the stack, migrates Airflow's database (once), runs
``creator_analytics`` and then ``spotify_analytics`` with ``airflow dags test`` (every task told as it
finishes: :mod:`devstack.narrate`), prints both summaries and renders the dashboards. Full logs go to
``$PULSE_HOME/demo-*.log``; a failure names the step, the failed task's first exception, the log, and a
hint when the failure is a known one.

What it feeds the pipelines besides the simulators: real exports. ``python -m devstack.demo fill-inbox``
drops

- into the creator inbox, one account folder each, the real creator exports of
  ``../shared/realdata/creator/``: the Instagram Insights export ``datasets/instagram_post_performance.csv``
  and the YouTube Studio exports of ``sources/youtube_studio_exports/`` (each export's files together in
  one folder, as Studio gives them);
- into the Spotify inbox, one listener folder per person, the real streaming-history exports of
  ``../shared/realdata/spotify/history/`` (five files from four people who published their own data), as
  a listener would after "download your data".

Without those folders it says so and drops nothing: the API inputs still run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import warnings
from datetime import date, timedelta
from pathlib import Path

from devstack import narrate
from pulse.config import REPO_ROOT, inbox_root, lake_root, pulse_home

REAL_HISTORY = REPO_ROOT.parent / "shared" / "realdata" / "spotify" / "history"
REAL_CREATOR = REPO_ROOT.parent / "shared" / "realdata" / "creator"
INSTAGRAM_EXPORT = ("datasets/instagram_post_performance.csv", "thecleverprogrammer")
"""The real Instagram Insights export and its account (see PROVENANCE.md there)."""
STUDIO_EXPORTS = "sources/youtube_studio_exports"
"""One folder per real YouTube Studio export, ``<owner>_<repository>``: the owner published their channel's
export, and names the account."""

DEMO_ACCOUNT_SEGMENTS = {
    "instagram": {INSTAGRAM_EXPORT[1]: "Science & Technology"},  # data-science and programming posts
    "youtube": {"buildwithadi": "Education", "Layla-Damoyi": "People & Blogs"},  # study vlogs; personal shorts
}
"""The niches the demo gives its export accounts (Airflow Variable ``creator_account_segments``), named as
YouTube categories so each account is benchmarked in a niche with crawled channels."""

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


def fill_inbox(history: Path = REAL_HISTORY, inbox: Path | None = None, say=print) -> list[Path]:
    """Copy every real export into ``<inbox>/<listener>/``; returns the files it placed."""
    inbox = inbox or Path(inbox_root("spotify"))
    if not history.is_dir():
        say(f"no real exports at {history}: the Spotify demo runs on the Web API simulator alone "
            f"(drop exports into {inbox}/<listener>/ to add some)")
        return []
    placed = []
    for export in sorted(history.glob("*.json")):
        target = inbox / listener_of(export) / export.name.split("__", 1)[1]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(export, target)
        placed.append(target)
    say(f"dropped {len(placed)} real streaming-history exports of {len({p.parent for p in placed})} listeners "
        f"into {inbox}")
    return placed


def fill_creator_inbox(realdata: Path = REAL_CREATOR, inbox: Path | None = None, say=print) -> list[Path]:
    """Copy the real creator exports into ``<inbox>/<account>/`` (a Studio export's files together, in a
    folder named as the export's); returns the files it placed."""
    inbox = inbox or Path(inbox_root("creator"))
    instagram, studio = realdata / INSTAGRAM_EXPORT[0], realdata / STUDIO_EXPORTS
    if not instagram.is_file() and not studio.is_dir():
        say(f"no real creator exports at {realdata}: the creator demo runs on the API simulator alone "
            f"(drop exports into {inbox}/<account>/ to add some)")
        return []
    copies = []
    if instagram.is_file():
        copies.append((instagram, inbox / INSTAGRAM_EXPORT[1] / instagram.name))
    for export in sorted(studio.iterdir()) if studio.is_dir() else []:
        account = export.name.split("_", 1)[0]
        copies.extend((file, inbox / account / export.name / file.name) for file in sorted(export.glob("*.csv")))
    for source, target in copies:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    placed = [target for _, target in copies]
    accounts = {p.relative_to(inbox).parts[0] for p in placed}
    say(f"dropped {len(placed)} real creator export files of {len(accounts)} accounts into {inbox}")
    return placed


class DemoFailed(Exception):
    """A step of the demo failed; the narration has said which, and why."""


def start_stack(narrator: narrate.Narrator, home: Path) -> dict[str, str]:
    """The embedded stack (what ``make stack`` starts); returns the environment its connections add."""
    from devstack import stack

    log = home / "demo-stack.log"
    with narrator.step("stack", lambda: f"{', '.join(conns) or 'nothing to start: every connection is external'}"):
        try:
            conns = stack.up(home)
        except Exception as exc:
            log.write_text(f"{type(exc).__name__}: {exc}\n")
            fail(narrator, "stack", f"{type(exc).__name__}: {exc}", log)
        (home / "stack.env").write_text(stack.env_file_text(conns))
    return stack.connection_env(conns)


def migrate_airflow(narrator: narrate.Narrator, home: Path, env: dict[str, str]) -> None:
    """``airflow db migrate``, once per Airflow home (what ``make airflow-db`` does)."""
    airflow_home = Path(env.get("AIRFLOW_HOME", home / "airflow"))
    done = airflow_home / ".migrated"
    if done.exists():
        narrator.say(f"✓ airflow database  already migrated ({airflow_home})")
        return
    airflow_home.mkdir(parents=True, exist_ok=True)
    log = airflow_home / "migrate.log"
    with narrator.step("airflow database", lambda: f"migrated ({airflow_home})"):
        with log.open("w") as out:
            code = subprocess.run([_airflow(), "db", "migrate"], env=env, stdout=out,
                                  stderr=subprocess.STDOUT).returncode
        if code:
            fail(narrator, "airflow database", narrate.last_error_line(log.read_text(errors="replace")), log)
        done.touch()


def configure_account_segments(narrator: narrate.Narrator, home: Path, env: dict[str, str]) -> None:
    """Set the Airflow Variable of the export accounts' niches to :data:`DEMO_ACCOUNT_SEGMENTS`, unless it
    is set already (a user's own is kept)."""
    from spark_jobs.creator.settings import ACCOUNT_SEGMENTS_VARIABLE

    variables = home / "demo-variables.json"
    variables.write_text(json.dumps({ACCOUNT_SEGMENTS_VARIABLE: {
        "value": DEMO_ACCOUNT_SEGMENTS,
        "description": "The niche of each creator channel or export account the YouTube category does not give: "
                       '{"<platform>": {"<channel id or inbox account>": "<segment>"}}'}}, indent=2))
    log = home / "demo-variables.log"
    outcome: list[str] = []
    with narrator.step("account segments", lambda: outcome[0]):
        with log.open("w") as out:
            code = subprocess.run([_airflow(), "variables", "import", "--action-on-existing-key", "skip",
                                   str(variables)], env=env, stdout=out, stderr=subprocess.STDOUT).returncode
        text = log.read_text(errors="replace")
        if code:
            fail(narrator, "account segments", narrate.last_error_line(text), log)
        outcome.append(f"Variable {ACCOUNT_SEGMENTS_VARIABLE} kept as it was" if "skipped" in text.lower()
                       else f"Variable {ACCOUNT_SEGMENTS_VARIABLE} set: {json.dumps(DEMO_ACCOUNT_SEGMENTS)}")


def run_pipeline(narrator: narrate.Narrator, dag_id: str, source: str, run_date: date, env: dict[str, str],
                 log: Path, conf: dict | None = None) -> None:
    """``airflow dags test`` of one pipeline, each task told as it finishes."""
    try:
        narrate.run_and_tell(narrator, dag_id, run_date.isoformat(), env, log, conf,
                             lambda task_id: narrate.lake_counts_of(lake_root(), source, task_id), airflow=_airflow())
    except narrate.RunFailed as failure:
        fail(narrator, failure.step, failure.error, failure.log)


def fail(narrator: narrate.Narrator, step: str, error: str, log: Path) -> None:
    narrate.tell_failure(narrator, step, error, log)
    raise DemoFailed(step)


def _airflow() -> str:
    return str(Path(sys.executable).parent / "airflow")


def run(run_date: date, lookback_days: int, narrator: narrate.Narrator | None = None) -> None:
    """The whole demo; raises :class:`DemoFailed` after telling what failed."""
    narrator = narrator or narrate.Narrator()
    home = pulse_home()
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **start_stack(narrator, home)}
    migrate_airflow(narrator, home, env)
    configure_account_segments(narrator, home, env)
    creator_dropped: list[str] = []
    with narrator.step("creator inbox", lambda: "; ".join(creator_dropped)):
        fill_creator_inbox(say=creator_dropped.append)
    # An inbox with nothing new (a file dropped again is not new) is skipped after this wait, not 10 minutes.
    run_pipeline(narrator, "creator_analytics", "creator", run_date, {**env, "PULSE_INBOX_WAIT_SECONDS": "5"},
                 home / "demo-creator.log", {"lookback_days": lookback_days})
    dropped: list[str] = []
    with narrator.step("spotify inbox", lambda: "; ".join(dropped)):
        fill_inbox(say=dropped.append)
    run_pipeline(narrator, "spotify_analytics", "spotify", run_date, {**env, "PULSE_INBOX_WAIT_SECONDS": "5"},
                 home / "demo-spotify.log")
    summaries(narrator, home, env)
    # `airflow dags test` runs no scheduler, so the Asset-scheduled pulse_dashboards DAG is not triggered:
    # render with the function its task runs.
    log = home / "demo-dashboards.log"
    pages: dict = {}
    with narrator.step("dashboards", lambda: f"{len(pages)} pages"):
        with log.open("w") as out:
            done = subprocess.run([sys.executable, "-m", "pulse.dashboards"], env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
        if done.returncode:
            fail(narrator, "dashboards", narrate.last_error_line(log.read_text(errors="replace")), log)
        pages = {p.name: p for p in (home / "dashboards").glob("*.html")}
    narrator.say("")
    narrator.say(f"Dashboards (open in a browser, they work offline): {home / 'dashboards' / 'index.html'}")
    narrator.say("The runs in Airflow's UI: make airflow  (it prints the login), then http://localhost:8080")


def summaries(narrator: narrate.Narrator, home: Path, env: dict[str, str]) -> None:
    for source in ("creator", "spotify"):
        done = subprocess.run([sys.executable, "-m", "pulse.summary", source, "--run-log",
                               str(home / f"demo-{source}.log")], env=env, capture_output=True, text=True)
        narrator.say("")
        narrator.say(done.stdout.rstrip() if done.returncode == 0 else f"(no summary: {done.stderr.strip()[-300:]})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.demo", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["run", "fill-inbox"])
    parser.add_argument("--date", type=date.fromisoformat, default=date.today() - timedelta(days=1),
                        help="the run date (default: yesterday)")
    parser.add_argument("--lookback-days", type=int, default=90)
    args = parser.parse_args(argv)
    # Airflow's import asks platformdirs for a runtime directory, which warns on machines without a login
    # session (CI, containers): noise in the story, not a problem.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    # The embedded Postgres keeps running after this process (cleanup_mode=None); pgserver says so at exit.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    if args.command == "fill-inbox":
        fill_creator_inbox()
        fill_inbox()
        return
    try:
        run(args.date, args.lookback_days)
    except DemoFailed:
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
