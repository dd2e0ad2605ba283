"""What the browser tests share: running a coroutine beside Playwright's event loop, and polling the page."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from playwright.sync_api import Page


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run `coro` to its end in a thread of its own: Playwright's sync API owns this thread's event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def poll(page: Page, expression: str, arg: Any = None, timeout: float = 20, every_s: float = 0.1) -> Any:
    """page.evaluate in a loop until it is truthy: wait_for_function would need eval, which the page's CSP
    forbids."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(expression, arg)
        if value:
            return value
        time.sleep(every_s)
    raise TimeoutError(expression)
