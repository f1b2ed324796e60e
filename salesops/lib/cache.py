"""Small per-process caches of configuration rows that services read on every call
(organisation settings, custom-field definitions, picklist options).

Each cache registers a `forget` function here; tests forget everything between tests,
and a model's save in this process forgets its own cache at once. Other processes see a
change within the cache's time to live (a few seconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

_forgetters: list[Callable[[], None]] = []


def register(forget: Callable[[], None]) -> None:
    _forgetters.append(forget)


def forget_all() -> None:
    for forget in _forgetters:
        forget()


class TTLCache:
    """A dict whose entries expire after `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._data: dict[Any, tuple[Any, float]] = {}
        register(self.clear)

    def get(self, key: Any, load: Callable[[], Any]) -> Any:
        hit = self._data.get(key)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        value = load()
        self._data[key] = (value, now + self.seconds)
        return value

    def clear(self) -> None:
        self._data.clear()
