"""How the browser tests and ``bench/_browser.py`` launch Chromium, and wait on a page."""

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

#: Headless Chromium with software WebGL (SwiftShader) and nothing that calls out of the machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def wait_until(page: "Page", expression: str, timeout_s: float, arg: Any = None, every_s: float = 0.1) -> Any:
    """Evaluate ``expression`` (a JavaScript function of ``arg``) in ``page`` until it returns a truthy value.

    Not ``page.wait_for_function``: Playwright builds its predicate with ``new Function`` in the page, which a
    Content-Security-Policy without ``'unsafe-eval'`` refuses (every rs3d page's, the 3D viewer's included);
    ``page.evaluate`` goes through the DevTools protocol, which the policy does not govern.

    Raises:
        TimeoutError: It was still falsy after ``timeout_s`` seconds.
    """
    deadline = time.monotonic() + timeout_s
    while not (value := page.evaluate(expression, arg)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout_s} s: {expression.strip()}")
        page.wait_for_timeout(every_s * 1000)
    return value
