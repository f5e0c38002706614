"""No process a test starts outlives it: the helpers of ``tests/processes.py`` and the run's reaper, on real
processes (a daemon that leaves its process group, a pytest run that hangs or is killed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.processes import PROCESS_TAG, RUN_TAG, run, start, tagged

REPO = Path(__file__).resolve().parents[1]
# A shell that starts a daemon in a session of its own (so outside the shell's process group), writes the
# daemon's pid to a file, then waits forever.
DAEMON_THEN_WAIT = "setsid sleep 600 & echo $! > {pidfile}; sleep 600"


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_for(what: str, condition, timeout: float = 120) -> None:  # generous: CI machines are loaded
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f} s"
        time.sleep(0.1)


def read_pid(pidfile: Path) -> int:
    wait_for(f"{pidfile} written", lambda: pidfile.exists() and pidfile.read_text().strip())
    return int(pidfile.read_text())


def test_run_kills_the_whole_tree_on_a_timeout_even_a_daemon_that_left_the_group(tmp_path):
    pidfile = tmp_path / "daemon.pid"
    with pytest.raises(subprocess.TimeoutExpired):
        run(["bash", "-c", DAEMON_THEN_WAIT.format(pidfile=pidfile)], timeout=3)
    daemon = int(pidfile.read_text())
    assert not alive(daemon), f"the daemon {daemon} outlived the command"


def test_run_returns_the_output_and_leaves_no_daemon_behind(tmp_path):
    pidfile = tmp_path / "daemon.pid"
    script = f"setsid sleep 600 >/dev/null 2>&1 & echo $! > {pidfile}; echo out; echo err >&2; exit 3"
    done = run(["bash", "-c", script], timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")
    assert not alive(int(pidfile.read_text()))


def test_a_started_child_is_stopped_with_everything_that_carries_its_tag(tmp_path):
    pidfile = tmp_path / "daemon.pid"
    child = start(["bash", "-c", DAEMON_THEN_WAIT.format(pidfile=pidfile)], tmp_path / "child.log")
    daemon = read_pid(pidfile)
    assert set(tagged(PROCESS_TAG, child.tag)) == {child.process.pid, daemon, *_children(child.process.pid)}
    child.stop(grace=5)
    assert not child.running() and not alive(daemon) and tagged(PROCESS_TAG, child.tag) == []


# A process that rewrites its environment's memory for a long ``ps`` title, as Airflow's api-server does:
# its /proc/<pid>/environ no longer shows the tag it inherited.
RETITLED = (f"{sys.executable} -c \"import os, setproctitle, time; setproctitle.setproctitle('retitled ' + 'x' * 300); "
            "open('{pidfile}', 'w').write(str(os.getpid())); time.sleep(600)\" & sleep 600")


def carries_tag(pid: int, tag: str) -> bool:
    return f"{PROCESS_TAG}={tag}".encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")


def test_a_process_that_rewrote_its_environment_is_stopped_with_the_session_it_belongs_to(tmp_path):
    pidfile = tmp_path / "retitled.pid"
    child = start(["bash", "-c", RETITLED.format(pidfile=pidfile)], tmp_path / "child.log")
    retitled = read_pid(pidfile)
    assert not carries_tag(retitled, child.tag)  # what makes the tag alone not enough
    assert retitled in tagged(PROCESS_TAG, child.tag)
    child.stop(grace=5)
    assert not alive(retitled)


def test_waiting_for_a_child_that_exits_fails_at_once_with_its_log(tmp_path):
    child = start(["bash", "-c", "echo cannot bind; exit 7"], tmp_path / "child.log")
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"(?s)exited with 7.*cannot bind"):
        child.wait_until("the server", lambda: False, timeout=120)
    assert time.monotonic() - started < 60


def reaper_log(tmp_path: Path) -> str:
    """The reaper's log, once it names what it stopped (it writes before it signals; the read may still
    come before its write reaches the file on a loaded machine)."""
    log = tmp_path / "home" / "test-reaper.log"
    wait_for(f"{log} to name what the reaper stopped", lambda: log.exists() and "SIGTERM" in log.read_text())
    return log.read_text()


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


HANGING_TEST = textwrap.dedent('''
    import subprocess, time
    from pathlib import Path
    import pytest
    from tests.processes import start

    @pytest.mark.timeout({timeout})
    def test_starts_a_daemon_and_a_retitled_process_then_hangs(tmp_path):
        subprocess.Popen(["bash", "-c", "setsid sleep 600 & echo $! > {pidfile}; sleep 600"], start_new_session=True)
        retitled = start(["bash", "-c", {retitled!r}], tmp_path / "retitled.log")
        while not (Path("{pidfile}").exists() and Path("{pidfile}.retitled").exists()):
            time.sleep(0.05)  # both started: now hang
        retitled.process.wait()
''')


def _inner_pytest(tmp_path: Path, pidfile: Path, timeout: float) -> subprocess.Popen:
    """A pytest run of one test that starts a daemon (its pid in ``pidfile``) and, through
    :func:`tests.processes.start`, a process that hides its tag (its pid in ``pidfile.retitled``),
    then hangs, until its ``timeout``."""
    retitled = RETITLED.format(pidfile=f"{pidfile}.retitled")
    (tmp_path / "test_hang.py").write_text(HANGING_TEST.format(pidfile=pidfile, timeout=timeout, retitled=retitled))
    # Its own temporary root: a pytest session closes its root's permissions (0700) when it starts.
    env = {**os.environ, "PYTHONPATH": str(REPO), "PULSE_HOME": str(tmp_path / "home"),
           "PYTEST_DEBUG_TEMPROOT": str(tmp_path)}
    env.pop(RUN_TAG, None)
    return subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
                             "tests.process_guard", "-o", "timeout_method=thread", str(tmp_path / "test_hang.py")],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_hung_test_ends_with_every_threads_traceback_and_its_processes_are_stopped(tmp_path):
    pidfile = tmp_path / "daemon.pid"
    inner = _inner_pytest(tmp_path, pidfile, timeout=10)
    output, _ = inner.communicate(timeout=240)
    assert inner.returncode != 0
    assert "Timeout" in output and "test_starts_a_daemon_and_a_retitled_process_then_hangs" in output
    assert "process.wait()" in output  # the hung test's frame, in the traceback of its thread
    daemon, retitled = read_pid(pidfile), read_pid(Path(f"{pidfile}.retitled"))
    wait_for(f"the reaper to stop {daemon} and {retitled}", lambda: not alive(daemon) and not alive(retitled))
    assert str(daemon) in reaper_log(tmp_path)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_an_interrupted_or_killed_test_run_leaves_no_process_behind(tmp_path, sig):
    pidfile = tmp_path / "daemon.pid"
    inner = _inner_pytest(tmp_path, pidfile, timeout=120)
    daemon, retitled = read_pid(pidfile), read_pid(Path(f"{pidfile}.retitled"))
    inner.send_signal(sig)
    output, _ = inner.communicate(timeout=120)
    assert sig != signal.SIGINT or "KeyboardInterrupt" in output
    wait_for(f"the reaper to stop {daemon} and {retitled}", lambda: not alive(daemon) and not alive(retitled))
    assert str(daemon) in reaper_log(tmp_path)
