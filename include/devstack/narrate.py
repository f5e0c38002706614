"""What ``make demo`` prints: one line per step, and per task of a DAG run as it finishes.

The task lines are read from Airflow itself, never from log text: each task instance's state and
duration from the metadata database, and its headline count from what the task returned (XCom), or for a
Spark job from the counts file it wrote beside its output (``silver/<source>/_counts.json``). Only a
failure reads the run's log, for the first exception of the failed task.

Output goes through ``rich``: on a terminal, a live spinner names what is running; anywhere else (CI,
a pipe, a file) the same lines are printed plainly, without colours or control codes.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console

MARKS = {"success": "✓", "failed": "✗", "upstream_failed": "✗", "skipped": "–", "up_for_retry": "↻"}
FINISHED = {"success", "failed", "upstream_failed", "skipped", "removed"}
# Tasks of a group that are told as one line, once all of them have finished.
GROUPS = {"quality_gate": "checks"}


@dataclass(frozen=True)
class TaskOutcome:
    """One task instance of a run, as the metadata database records it."""

    task_id: str
    state: str | None
    seconds: float | None
    value: Any = None
    """What the task returned (its ``return_value`` XCom), if anything."""
    try_number: int = 1


def _count(n: int) -> str:
    return f"{n:,}"


def _plain(value: Any) -> Any:
    """A value as the task returned it: Airflow stores a tuple in XCom as ``{"__classname__":
    "builtins.tuple", "__data__": [...]}``, which the database read may hand back undecoded."""
    if isinstance(value, Mapping) and "__data__" in value and "__classname__" in value:
        return value["__data__"]
    return value


LAKE_JOBS = ("silver", "gold")


def headline(task_id: str, value: Any, job_counts: Mapping[str, Any] | None = None) -> str:
    """The count that says what a finished task did, from what it returned (``60,060 records``) or, for
    the Spark jobs, from the counts they wrote beside their output (``job_counts``)."""
    if task_id == "gold" and job_counts and "mode" in job_counts:
        if job_counts["mode"] != "incremental":
            return f"full rebuild ({job_counts.get('reason')})"
        slices = job_counts.get("slices", {})
        if "listeners" in slices:  # Spotify: a slice is a listener
            return (f"incremental: {_count(slices['listeners'])} listener{'s' if slices['listeners'] != 1 else ''}"
                    f" recomputed ({_count(slices.get('listeners_by_catalogue', 0))} for a catalogue change)"
                    " and merged")
        dates = slices.get("dates", [])
        return (f"incremental: {_count(slices.get('fact_content', 0))} posts and "
                f"{_count(slices.get('fact_engagement', 0))} creator-days (slices) of {len(dates)} "
                f"date{'s' if len(dates) != 1 else ''} merged; the small tables recomputed")
    if task_id == "silver" and job_counts:
        kept = sum(c.get("silver_rows", 0) for c in job_counts.values())
        quarantined = sum(c.get("quarantined_rows", 0) for c in job_counts.values())
        line = f"{_count(kept)} rows kept, {_count(quarantined)} quarantined"
        merged = [c for c in job_counts.values() if c.get("mode") == "incremental"]
        if not merged:
            reasons = Counter(c["reason"] for c in job_counts.values() if c.get("reason"))
            return f"full rebuild ({reasons.most_common(1)[0][0]}); {line}" if reasons else line
        read = sum(c.get("bronze_rows", 0) for c in merged)
        partitions = sorted({p for c in merged for p in c.get("bronze_partitions", [])})
        rebuilt = len(job_counts) - len(merged)
        where = (f" from {len(partitions)} partition{'s' if len(partitions) != 1 else ''} ({', '.join(partitions)})"
                 if partitions else "")  # Spotify's counts do not list partitions
        return (f"incremental: {_count(read)} new bronze rows{where}"
                f"{f', {rebuilt} datasets rebuilt' if rebuilt else ''}; {line}")
    if task_id == "refresh_reporting" and isinstance(value, list) and value and isinstance(value[-1], list):
        views = [_plain(row) for row in value[-1]]
        noun = "reporting view" if len(views) == 1 else "reporting views"
        return f"{len(views)} {noun}, {_count(sum(int(row[1]) for row in views))} rows"
    if not isinstance(value, Mapping):
        return ""
    if "records" in value:
        pages = f" in {_count(value['pages'])} page{'s' if value['pages'] != 1 else ''}" if "pages" in value else ""
        line = f"{_count(value['records'])} records{pages}"
        if "quota_units" in value:
            line += f", {_count(value['quota_units'])} quota units"
        if value.get("partial"):
            left = _count(value.get("channels_left", 0))
            line += f"; PARTIAL: {value.get('stopped')}, {left} channels left for the next run"
        return line
    if "files_ingested" in value:
        rows = sum((value.get("rows_by_format") or {}).values())
        return (f"{_count(value['files_ingested'])} files, {_count(rows)} rows, "
                f"{_count(value.get('files_rejected', 0))} rejected")
    if value and all(isinstance(v, int) for v in value.values()):
        if task_id == "stage_gold":
            return f"{len(value)} tables, {_count(sum(value.values()))} rows"
        return ", ".join(f"{_count(v)} {k.replace('_', ' ')}" for k, v in value.items())
    return ""


def task_line(task: TaskOutcome, job_counts: Mapping[str, Mapping[str, int]] | None = None) -> str:
    """``✓ ingest_content  60,060 records in 61 pages  (3.0 s)``."""
    mark = MARKS.get(task.state or "", "·")
    words = [f"{mark} {task.task_id}"]
    if task.state == "success":
        try:
            words.append(headline(task.task_id, task.value, job_counts))
        except (TypeError, ValueError, KeyError, IndexError):  # an unexpected return value: no headline
            pass
    elif task.state != "skipped":
        words.append(task.state or "")
    if task.try_number > 1:
        words.append(f"(attempt {task.try_number})")
    if task.seconds is not None and task.state != "skipped":
        words.append(f"({task.seconds:.1f} s)" if task.seconds < 100 else f"({task.seconds:.0f} s)")
    if task.state == "skipped":
        words.append("skipped")
    return "  ".join(w for w in words if w)


def group_line(group: str, noun: str, tasks: Sequence[TaskOutcome]) -> str:
    """One line for a group of tasks: ``✓ quality_gate  15 of 15 checks passed  (3.2 s)``."""
    passed = sum(t.state == "success" for t in tasks)
    seconds = sum(t.seconds or 0 for t in tasks)
    mark = MARKS["success"] if passed == len(tasks) else MARKS["failed"]
    failed = [t.task_id.split(".", 1)[-1] for t in tasks if t.state != "success"]
    tail = f", failed: {', '.join(failed)}" if failed else ""
    return f"{mark} {group}  {passed} of {len(tasks)} {noun} passed{tail}  ({seconds:.1f} s)"


# --- the first exception of a failed task, from the run's log -------------------------------------------

_TASK_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+)")
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Failure|Timeout|Missing|[A-Z]\w+))"
                        r"(?::\s*(.*))?$")


def first_exception(log_text: str, task_id: str) -> str | None:
    """``ExceptionType: message`` of the first traceback logged while ``task_id`` ran (its first attempt
    that failed), with the message's next line when it continues it (e.g. PostgreSQL's ``DETAIL``)."""
    lines = log_text.splitlines()
    current = None
    for i, line in enumerate(lines):
        started = _TASK_START.search(line)
        if started:
            current = started.group(1)
            continue
        if current != task_id or not line.startswith("Traceback (most recent call last):"):
            continue
        for j in range(i + 1, len(lines)):
            candidate = lines[j]
            if candidate.startswith((" ", "\t")) or not candidate.strip():
                continue
            match = _EXCEPTION.match(candidate.strip())
            if not match:
                continue
            text = candidate.strip()
            following = lines[j + 1].strip() if j + 1 < len(lines) else ""
            if following.startswith(("DETAIL:", "HINT:")):
                text += f" ({following})"
            return text
    return None


HINTS = (
    (re.compile(r"Java was not found|JAVA_HOME is not set|java: (command )?not found"),
     "Spark needs Java 17: apt-get install openjdk-17-jre-headless (or set JAVA_HOME)."),
    (re.compile(r"[Aa]ddress already in use|port \d+ (is )?(already )?(in use|taken)"),
     "A port Pulse needs is taken: stop what holds it, or `make down` and run again."),
    (re.compile(r"conn(ection)?(_id)?\W+\S+\W+(isn't|is not) defined|AirflowNotFoundException"),
     "A connection is undefined: `make stack` writes the embedded ones to .pulse/stack.env; "
     "for external systems define AIRFLOW_CONN_<ID> (README, \"Connections\")."),
    (re.compile(r"Delta Lake jars are missing"), "Run `make jars` once, with network access."),
)


def hint_for(text: str) -> str | None:
    """One hint for a known failure, else None."""
    for pattern, hint in HINTS:
        if pattern.search(text):
            return hint
    return None


# --- reading a run from Airflow's metadata database --------------------------------------------------

def newest_run_id(dag_id: str, since: datetime) -> str | None:
    """The id of ``dag_id``'s newest run created at or after ``since`` (what ``airflow dags test`` started)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.scalar(
            select(DagRun.run_id).where(DagRun.dag_id == dag_id, DagRun.created_at >= since)
            .order_by(DagRun.id.desc()).limit(1))


def read_run(dag_id: str, run_id: str) -> tuple[str | None, list[TaskOutcome]]:
    """The run's state and every task instance of it, in the order they started."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        state = session.scalar(select(DagRun.state).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        instances = session.execute(
            select(TaskInstance.task_id, TaskInstance.state, TaskInstance.duration, TaskInstance.try_number,
                   TaskInstance.start_date)
            .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)).all()
        values = {
            row.task_id: XComModel.deserialize_value(row)
            for row in session.execute(
                select(XComModel.task_id, XComModel.value)
                .where(XComModel.dag_id == dag_id, XComModel.run_id == run_id, XComModel.key == "return_value"))
        }
    ordered = sorted(instances, key=lambda r: (r.start_date is None, r.start_date or datetime.min))
    return (str(state) if state else None,
            [TaskOutcome(r.task_id, str(r.state) if r.state else None, r.duration, values.get(r.task_id),
                         r.try_number or 1) for r in ordered])


# --- the narrator ------------------------------------------------------------------------------------

class Narrator:
    """Prints the story of ``make demo``: plain lines, plus a live spinner when stdout is a terminal."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(highlight=False)

    @property
    def live(self) -> bool:
        return self.console.is_terminal

    def say(self, text: str) -> None:
        """Print a line; on a terminal its leading mark is coloured (green ✓, red ✗, dim –)."""
        from rich.text import Text

        line = Text(text)
        if self.live:
            stripped = text.lstrip()
            style = {"✓": "bold green", "✗": "bold red", "–": "dim", "↻": "yellow", "▸": "bold cyan"}.get(stripped[:1])
            if style:
                start = len(text) - len(stripped)
                line.stylize(style, start, start + 1)
        self.console.print(line, highlight=False, soft_wrap=True)

    @contextmanager
    def working(self, what: str) -> Iterator[None]:
        """A spinner naming ``what`` while the block runs (on a terminal; nothing otherwise)."""
        if not self.live:
            yield
            return
        with self.console.status(what, spinner="dots"):
            yield

    @contextmanager
    def step(self, name: str, detail: Callable[[], str] | None = None) -> Iterator[None]:
        """``✓ <name>  <detail>  (1.2 s)`` when the block ends, or ``✗ <name> failed`` when it raises."""
        started = time.monotonic()
        try:
            with self.working(f"{name}…"):
                yield
        except BaseException:
            self.say(f"✗ {name} failed  ({time.monotonic() - started:.1f} s)")
            raise
        extra = detail() if detail else ""
        self.say("  ".join(x for x in (f"✓ {name}", extra, f"({time.monotonic() - started:.1f} s)") if x))


def lake_counts_of(lake_root: str | Path, source: str, zone: str = "silver") -> dict | None:
    """What the last ``silver`` or ``gold`` job wrote beside its output (``<zone>/<source>/_counts.json``)."""
    counts = Path(lake_root) / zone / source / "_counts.json"
    try:
        return json.loads(counts.read_text())
    except (OSError, ValueError):
        return None


def tell_new_outcomes(narrator: Narrator, tasks: Sequence[TaskOutcome], told: set[str],
                      lake_counts: Callable[[str], Mapping | None], indent: str = "  ") -> None:
    """Print each finished task not yet told, in the order the tasks started; a group in :data:`GROUPS`
    as one line, where its last task stands, once all of it has finished."""
    groups = {task.task_id: task.task_id.split(".", 1)[0] for task in tasks if "." in task.task_id}
    members: dict[str, list[TaskOutcome]] = {}
    for task in tasks:
        if groups.get(task.task_id) in GROUPS:
            members.setdefault(groups[task.task_id], []).append(task)
    for task in tasks:
        group = groups.get(task.task_id)
        if group in GROUPS:
            whole = members[group]
            if task is whole[-1] and group not in told and all(t.state in FINISHED for t in whole):
                narrator.say(indent + group_line(group, GROUPS[group], whole))
                told.add(group)
            continue
        retry_key = f"{task.task_id}#{task.try_number}"
        if task.state in FINISHED and task.task_id not in told:
            narrator.say(indent + task_line(task, lake_counts(task.task_id) if task.task_id in LAKE_JOBS else None))
            told.add(task.task_id)
        elif task.state == "up_for_retry" and retry_key not in told:
            narrator.say(indent + task_line(task))
            told.add(retry_key)


def follow_run(narrator: Narrator, dag_id: str, process: subprocess.Popen, since: datetime,
               lake_counts: Callable[[str], Mapping | None], poll_seconds: float = 1.0) -> tuple[str | None, list]:
    """Tell each task of the run ``process`` (an ``airflow dags test``) started as it finishes, until the
    process ends; returns the run's state and its task outcomes."""
    from sqlalchemy.exc import OperationalError

    told: set[str] = set()
    failed_reads = 0
    run_id = None
    state, tasks = None, []
    while True:
        done = process.poll() is not None
        try:
            run_id = run_id or newest_run_id(dag_id, since)
            if run_id:
                state, tasks = read_run(dag_id, run_id)
                tell_new_outcomes(narrator, tasks, told, lake_counts)
        except OperationalError:  # SQLite busy with the run's own write: read again at the next poll
            failed_reads += 1
            if failed_reads > 30:
                raise
            time.sleep(poll_seconds)
            continue
        if done:
            return state, tasks
        time.sleep(poll_seconds)


class RunFailed(Exception):
    """A DAG run did not succeed: ``step`` names the run and its failed task, ``error`` its first exception."""

    def __init__(self, step: str, error: str, log: Path):
        super().__init__(f"{step}: {error}")
        self.step, self.error, self.log = step, error, log


def run_and_tell(narrator: Narrator, dag_id: str, run_date: str, env: Mapping[str, str], log: Path,
                 conf: Mapping | None = None, lake_counts: Callable[[str], Mapping | None] = lambda task_id: None,
                 airflow: str = "airflow") -> list[TaskOutcome]:
    """``airflow dags test`` of ``dag_id``, every task told as it finishes; the full output goes to ``log``.
    Raises :class:`RunFailed` naming the failed task and its first exception."""
    from datetime import UTC, timedelta

    command = [airflow, "dags", "test", dag_id, run_date]
    if conf:
        command += ["-c", json.dumps(conf)]
    narrator.say(f"▸ {dag_id}  run date {run_date}  (log: {log})")
    since = datetime.now(UTC) - timedelta(seconds=5)
    started = time.monotonic()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        process = subprocess.Popen(command, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
        try:
            with narrator.working(f"{dag_id} is running"):
                state, tasks = follow_run(narrator, dag_id, process, since, lake_counts)
        except BaseException:
            process.kill()
            process.wait()
            raise
    if process.returncode == 0 and state == "success":
        narrator.say(f"✓ {dag_id}  {len(tasks)} tasks  ({time.monotonic() - started:.0f} s)")
        return tasks
    failed = [t for t in tasks if t.state == "failed"]
    text = log.read_text(errors="replace")
    if failed:
        raise RunFailed(f"{dag_id}, task {failed[0].task_id}",
                        first_exception(text, failed[0].task_id) or "(no exception in the log)", log)
    raise RunFailed(dag_id, last_error_line(text), log)


def last_error_line(text: str) -> str:
    """What a log that holds no task's traceback says last about an error: its last line that mentions
    one, else its last line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["(empty log)"])[-1][:300]


def tell_failure(narrator: Narrator, step: str, error: str, log: Path) -> None:
    """The four lines of a failure: the step, its first error, the log, and a hint when one is known."""
    narrator.say("")
    narrator.say(f"✗ {step} failed")
    narrator.say(f"  error: {error}")
    narrator.say(f"  log:   {log}")
    tail = log.read_text(errors="replace")[-20000:] if log.exists() else ""
    if hint := hint_for(error) or hint_for(tail):
        narrator.say(f"  hint:  {hint}")


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m devstack.narrate DAG_ID DATE --log PATH [--conf JSON]``: run a DAG with ``airflow dags
    test``, told as ``make demo`` tells it."""
    import argparse
    import os
    import sys

    parser = argparse.ArgumentParser(prog="python -m devstack.narrate", description=main.__doc__.splitlines()[0])
    parser.add_argument("dag_id")
    parser.add_argument("run_date")
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--conf", type=json.loads, default=None)
    parser.add_argument("--terminal", action="store_true", help="narrate as on a terminal (colours, spinner)")
    args = parser.parse_args(argv)
    narrator = Narrator(Console(highlight=False, force_terminal=True) if args.terminal else None)
    try:
        run_and_tell(narrator, args.dag_id, args.run_date, os.environ, args.log, args.conf,
                     airflow=str(Path(sys.executable).parent / "airflow"))
    except RunFailed as failure:
        tell_failure(narrator, failure.step, failure.error, failure.log)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
