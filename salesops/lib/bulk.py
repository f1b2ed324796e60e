"""Bulk loads: writing a great many rows in one transaction (restoring a whole
organisation) with the apps that keep derived data by triggers (analytics' roll-ups)
standing aside for the load and catching up once at the end.

`lib` is below every app, so it knows none of them: an app registers a context manager
factory at start-up (`register`), and the loader wraps its writes in `bulk_load`.
A hook must leave things as they were if the load fails (the caller's transaction rolls
back), and bring its derived data up to date when the load succeeds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any

Hook = Callable[[Any], AbstractContextManager[None]]

_HOOKS: list[Hook] = []


def register(hook: Hook) -> None:
    """Add a hook (called with the database connection) for every later bulk load."""
    if hook not in _HOOKS:
        _HOOKS.append(hook)


@contextmanager
def bulk_load(connection: Any) -> Iterator[None]:
    """Run the body with every registered hook entered; call inside the transaction
    that holds the load."""
    with ExitStack() as stack:
        for hook in _HOOKS:
            stack.enter_context(hook(connection))
        yield
