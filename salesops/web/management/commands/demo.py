"""`salesops demo`: serve the web app and run the background worker until Ctrl-C.

`make demo` runs it after migrating and seeding. It prints the URL and the demo
logins, then supervises two children: stop it (SIGINT or SIGTERM) and it stops both;
if one of them dies, it stops the other and exits non-zero.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from django.core.management import get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connections

from salesops.users.models import User

#: The users the seed command creates, in the order they are shown.
DEMO_USERNAMES = ("admin", "analyst", "manager", "rep1", "rep2")
#: The password the seed command gives them.
DEMO_PASSWORD = "salesops-demo"  # noqa: S105 (public: printed for the demo)

Child = tuple[str, Sequence[str]]


def salesops_argv(*args: str) -> list[str]:
    """The command line of `salesops ARGS` with this very interpreter."""
    return [sys.executable, "-m", "salesops", *args]


def run_children(
    children: Sequence[Child],
    *,
    log: Callable[[str], Any] = print,
    stop: threading.Event | None = None,
    grace: float = 10.0,
    poll: float = 0.2,
) -> int:
    """Start each (name, argv) child and watch them until asked to stop.

    Returns 0 when stopped by SIGINT, SIGTERM or `stop` being set. When a child exits on
    its own, the others are stopped and its exit code is returned (1 if it was 0 or a
    signal). Children run in their own process groups, so a Ctrl-C in the terminal
    reaches only this supervisor, which then stops them in order: SIGTERM to each group,
    SIGKILL to what is still alive after `grace` seconds.
    """
    stop = stop or threading.Event()
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda _signum, _frame: stop.set())
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        for name, argv in children:
            if stop.is_set():
                break
            proc = subprocess.Popen(list(argv), env=env, process_group=0)
            procs.append((name, proc))
            log(f"Started {name} (pid {proc.pid}).")
        while not stop.wait(poll):
            for name, proc in procs:
                if proc.poll() is not None:
                    log(f"{name} exited with code {proc.returncode}; stopping the rest.")
                    return proc.returncode if proc.returncode > 0 else 1
        log("Stopping…")
        return 0
    finally:
        _stop_all(procs, grace=grace, log=log)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop_all(
    procs: Sequence[tuple[str, subprocess.Popen[bytes]]],
    *,
    grace: float,
    log: Callable[[str], Any],
) -> None:
    def signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)

    for _name, proc in procs:
        signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for name, proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log(f"{name} did not stop within {grace:g} s; killing it.")
            signal_group(proc, signal.SIGKILL)
            proc.wait()


class Command(BaseCommand):
    help = "Serve the web app and run the background worker together until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to serve on")
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("PORT") or 8000),
            help="port to serve on (default: $PORT or 8000)",
        )

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
        self.stdout.write(f"\nSalesops demo: http://{shown_host}:{port}/\n")
        self.print_logins()
        self.stdout.write("Press Ctrl-C to stop the web server and the worker.\n")
        # The children open their own connections; keep none open here (SQLite locks).
        connections.close_all()
        code = run_children(self.children(host, port), log=self.stdout.write)
        if code:
            raise CommandError(
                f"The demo stopped because a process failed (exit {code}).", returncode=code
            )

    def children(self, host: str, port: int) -> list[Child]:
        # --insecure: serve static files although DEBUG is off, as a demo needs its CSS.
        web = salesops_argv("runserver", f"{host}:{port}", "--noreload", "--insecure")
        worker = "worker" if "worker" in get_commands() else "db_worker"
        return [("web server", web), ("worker", salesops_argv(worker))]

    def print_logins(self) -> None:
        try:
            users = {
                u.username: u
                for u in User.objects.filter(username__in=DEMO_USERNAMES).select_related("role")
            }
        except DatabaseError:
            users = {}
        if not users:
            self.stdout.write(
                "No demo users yet: run `salesops migrate` and `salesops seed --scale demo`.\n"
            )
            return
        self.stdout.write(f"Sign in as (password {DEMO_PASSWORD}):")
        for name in DEMO_USERNAMES:
            if name in users:
                role = users[name].role
                self.stdout.write(f"  {name:<10} {DEMO_PASSWORD}  {role.name if role else '-'}")
        self.stdout.write("")
