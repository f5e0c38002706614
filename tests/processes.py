"""Child processes of the test run: started, waited on by state, stopped, and never left behind.

Every process a test starts is *tagged*: it gets ``PULSE_PROCESS_TAG=<unique id>`` in its environment,
and whatever it starts inherits the tag (Airflow's components, the JVMs Spark forks, Chromium under
Playwright's driver, a Postgres that daemonises itself). Stopping a child stops every process that carries
its tag, even those that left its process group, and waits until they are gone.

The whole test run is tagged too (``PULSE_TEST_RUN``, set by :mod:`tests.process_guard` before any child is
started), and a small reaper process watches pytest: when pytest ends, however it ends (a normal exit,
Ctrl-C, pytest-timeout's forced exit, ``kill -9``), the reaper kills what still carries the run's tag.

Processes that rewrite their environment for a longer ``ps`` title lose the tag; they are found by the
process group or session they belong to, which the tagged process leads. The reaper also gets the session
of every child the run started, from a file beside the run's tag.

Only the standard library is imported, so the reaper runs as ``python tests/processes.py --reap …``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PROCESS_TAG = "PULSE_PROCESS_TAG"
RUN_TAG = "PULSE_TEST_RUN"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _living() -> dict[int, tuple[int, int, bytes]]:
    """Every living process but this one (zombies left out): pid -> (process group, session, environment)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            state, _, group, session = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:4]
            if state != "Z":
                found[int(entry.name)] = (int(group), int(session), (entry / "environ").read_bytes())
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours to read
    return found


def tagged(variable: str, value: str, sessions: tuple[int, ...] = ()) -> list[int]:
    """Living processes whose environment has ``variable=value``, with every process in a process group
    or session that one of them leads, or in one of ``sessions``.

    The groups and sessions matter because some programs rewrite their environment's memory to show a
    longer title in ``ps`` (Airflow's api-server and workers, PostgreSQL's backends), and then no longer
    show the tag."""
    marker = f"{variable}={value}".encode()
    living = _living()
    carriers = {pid for pid, (_, _, environ) in living.items() if marker in environ.split(b"\0")}
    leaders = carriers | set(sessions)
    return sorted(pid for pid, (group, session, _) in living.items()
                  if pid in carriers or group in leaders or session in leaders)


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def terminate_tagged(variable: str, value: str, grace: float = 20, reap: Callable[[], None] = lambda: None,
                     sessions: tuple[int, ...] = ()) -> list[int]:
    """SIGTERM every process :func:`tagged` ``variable=value`` (or in ``sessions``), SIGKILL what is left
    after ``grace`` seconds, and wait (at most 10 s more) until none is left. ``reap`` collects our own
    exited children meanwhile, so they do not linger as zombies. Returns the pids that had to be killed."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
        pids = tagged(variable, value, sessions)
        if not pids:
            return []
        _signal_all(pids, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            reap()
            if not tagged(variable, value, sessions):
                return pids if sig == signal.SIGKILL else []
            time.sleep(0.2)
    return tagged(variable, value, sessions)


@dataclass
class Child:
    """A process tree started by a test: the process itself and every process that inherits its tag."""

    process: subprocess.Popen
    tag: str
    log: Path | None = None
    killed: list[int] = field(default_factory=list)

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:] if self.log else ""
        except OSError:
            return ""

    def stop(self, grace: float = 20) -> None:
        """Stop the whole tree: SIGTERM, then SIGKILL after ``grace`` seconds; returns when nothing is left."""
        self.killed = terminate_tagged(PROCESS_TAG, self.tag, grace, reap=self.process.poll,
                                       sessions=(self.process.pid,))
        # A process leaves /proc's view of its environment before the kernel has closed its files (and
        # dropped its locks); its exit status comes after that. It has had SIGKILL by now.
        self.process.wait(timeout=60)

    def wait_until(self, what: str, ready: Callable[[], bool], timeout: float, every: float = 0.5) -> None:
        """Poll ``ready()`` until it is true; fail at once if the process exits, or after ``timeout`` s.
        Errors raised by ``ready`` (a refused connection, a file not yet written) count as not ready."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{what}: the process exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if ready():
                    return
            except (OSError, ValueError):
                pass
            time.sleep(every)
        raise TimeoutError(f"{what}: not ready within {timeout:.0f} s; log {self.log}:\n{self.log_tail()}")


def _tagged_env(env: dict[str, str] | None) -> tuple[dict[str, str], str]:
    tag = uuid.uuid4().hex
    return {**(os.environ if env is None else env), PROCESS_TAG: tag}, tag


def _sessions_file(run_id: str) -> Path:
    return Path(tempfile.gettempdir()) / f"pulse-test-run-{run_id}.sessions"


def _register_session(pid: int) -> None:
    """Note, for the reaper, a session this test run started (its leader's pid)."""
    if run_id := os.environ.get(RUN_TAG):
        with _sessions_file(run_id).open("a") as sessions:
            sessions.write(f"{pid}\n")


def start(args: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> Child:
    """Start ``args`` in a session of its own, output to ``log``; stop it with :meth:`Child.stop`."""
    env, tag = _tagged_env(env)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                   cwd=cwd, start_new_session=True)
    _register_session(process.pid)
    return Child(process, tag, log)


def run(args: list[str], timeout: float, env: dict[str, str] | None = None, cwd: Path | None = None,
        text: bool = True) -> subprocess.CompletedProcess:
    """Like ``subprocess.run(capture_output=True)``, but on a timeout the whole tree is killed (not only
    the first process), and nothing it started outlives the call."""
    env, tag = _tagged_env(env)
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               env=env, cwd=cwd, text=text, start_new_session=True)
    _register_session(process.pid)
    child = Child(process, tag)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        child.stop(grace=5)
        stdout, stderr = process.communicate()
        raise subprocess.TimeoutExpired(args, timeout, output=stdout, stderr=stderr) from expired
    finally:
        if child.running() or tagged(PROCESS_TAG, tag):
            child.stop(grace=5)  # an exception in communicate, or a daemon the command left behind
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


# --- the reaper ---------------------------------------------------------------------------------------

def start_reaper(run_id: str, log: Path) -> subprocess.Popen:
    """Start the process that kills what still carries ``RUN_TAG=run_id`` once this process is gone."""
    env = {k: v for k, v in os.environ.items() if k not in (RUN_TAG, PROCESS_TAG)}
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--reap", str(os.getpid()), run_id],
                                env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _wait_for_exit(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except OSError:  # no pidfd (an old kernel): poll
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.5)
    import select

    select.select([fd], [], [])
    os.close(fd)


def reap(watched: int, run_id: str) -> None:
    _wait_for_exit(watched)
    registry = _sessions_file(run_id)
    sessions = tuple(int(line) for line in registry.read_text().split()) if registry.exists() else ()
    registry.unlink(missing_ok=True)
    pids = tagged(RUN_TAG, run_id, sessions)
    if pids:
        # Said before the first signal, so that the log names every process by the time any of them is gone.
        print(f"{time.strftime('%H:%M:%S')} test run {run_id} (pytest pid {watched}) ended with {len(pids)} "
              "processes left; SIGTERM to each:", flush=True)
        for pid in pids:
            print(f"  {pid} {_command(pid)}", flush=True)
        killed = terminate_tagged(RUN_TAG, run_id, grace=5, sessions=sessions)
        print(f"  then SIGKILL for {killed or 'none'}", flush=True)


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:160]
    except OSError:
        return "(gone)"


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--reap":
        reap(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(f"usage: {sys.argv[0]} --reap PID RUN_ID")
