"""`salesops demo` supervises the web server and the worker: both start, both stop."""

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from salesops.users.tests.factories import UserFactory
from salesops.web.management.commands import demo


def sleeper(pid_file: Path, *, ignore_sigterm: bool = False, exit_after: float | None = None):
    """A child that records its pid, then sleeps (or exits with 3 after `exit_after` s)."""
    code = "import os, signal, sys, time\n"
    if ignore_sigterm:
        code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    code += f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
    if exit_after is None:
        code += "time.sleep(60)\n"
    else:
        code += f"time.sleep({exit_after}); sys.exit(3)\n"
    return [sys.executable, "-c", code]


def wait_for(files: list[Path], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not all(f.exists() and f.read_text() for f in files):
        assert time.monotonic() < deadline, "children did not start"
        time.sleep(0.02)


def is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def pids(files: list[Path]) -> list[int]:
    return [int(f.read_text()) for f in files]


def test_it_starts_both_children_and_stops_both_when_asked(tmp_path):
    files = [tmp_path / "web.pid", tmp_path / "worker.pid"]
    stop = threading.Event()

    def stop_when_started():
        wait_for(files)
        stop.set()

    threading.Thread(target=stop_when_started, daemon=True).start()
    code = demo.run_children(
        [("web", sleeper(files[0])), ("worker", sleeper(files[1]))], stop=stop, log=lambda m: None
    )

    assert code == 0
    assert all(is_gone(pid) for pid in pids(files))


def test_when_one_child_dies_it_stops_the_other_and_returns_its_exit_code(tmp_path: Path) -> None:
    files = [tmp_path / "web.pid", tmp_path / "worker.pid"]
    messages: list[str] = []

    code = demo.run_children(
        [("web", sleeper(files[0])), ("worker", sleeper(files[1], exit_after=0.5))],
        log=messages.append,
    )

    assert code == 3
    assert all(is_gone(pid) for pid in pids(files))
    assert any("worker exited with code 3" in m for m in messages)


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path):
    files = [tmp_path / "stubborn.pid"]
    stop = threading.Event()

    def stop_when_started():
        wait_for(files)
        stop.set()

    threading.Thread(target=stop_when_started, daemon=True).start()
    started = time.monotonic()
    code = demo.run_children(
        [("stubborn", sleeper(files[0], ignore_sigterm=True))],
        stop=stop,
        grace=0.5,
        log=lambda m: None,
    )

    assert code == 0
    assert is_gone(pids(files)[0])
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_supervisor_stops_both_children(tmp_path, sig):
    files = [tmp_path / "web.pid", tmp_path / "worker.pid"]
    before = signal.getsignal(sig)

    def signal_when_started():
        wait_for(files)
        os.kill(os.getpid(), sig)

    threading.Thread(target=signal_when_started, daemon=True).start()
    code = demo.run_children(
        [("web", sleeper(files[0])), ("worker", sleeper(files[1]))], log=lambda m: None
    )

    assert code == 0
    assert all(is_gone(pid) for pid in pids(files))
    assert signal.getsignal(sig) is before


def test_the_command_prints_the_demo_logins_and_runs_web_server_and_worker(
    cast: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    UserFactory(username="rep1", role=cast.rep.role)
    started: list[list[demo.Child]] = []

    def fake_run_children(children: list[demo.Child], **kwargs: Any) -> int:
        started.append(children)
        return 0

    monkeypatch.setattr(demo, "run_children", fake_run_children)
    call_command("demo", "--port", "8765")
    out = capsys.readouterr().out

    assert "http://127.0.0.1:8765/" in out
    for username, role in [
        ("admin", "Admin"),
        ("analyst", "Analyst"),
        ("manager", "Manager"),
        ("rep1", "Rep"),
    ]:
        line = next(line for line in out.splitlines() if line.split()[:1] == [username])
        assert line.split() == [username, demo.DEMO_PASSWORD, role]
    assert "rep2" not in out  # not seeded here, so not offered
    [(_, web), (_, worker)] = started[0]
    assert web[-4:] == ["runserver", "127.0.0.1:8765", "--noreload", "--insecure"]
    assert worker[-1] in ("worker", "db_worker")


def test_the_command_fails_with_the_childs_exit_code(db, monkeypatch):
    monkeypatch.setattr(demo, "run_children", lambda children, **kwargs: 3)

    with pytest.raises(CommandError) as raised:
        call_command("demo")

    assert raised.value.returncode == 3
