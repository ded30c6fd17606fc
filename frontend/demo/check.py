"""Headless browser check of the demo site (run serve.py first).

Usage:
    .venv/bin/python frontend/demo/check.py http://127.0.0.1:8765 /tmp/rs3d-shots

Opens the viewer (area 1) and waits for #status[data-state=ready], takes
screenshots in photo and class colour modes, checks the "no 3D result"
error on area 2, and plays the three fake jobs. Prints console errors and
exits non-zero on any failure.
"""

import json
import sys
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8765"
SHOTS = Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp/rs3d-shots")
ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
]


def log_console(message: ConsoleMessage, problems: list[str]) -> None:
    """Record console errors and warnings; echo rs3d debug lines."""
    if message.type in ("error", "warning"):
        problems.append(f"{message.type}: {message.text}")
    elif message.text.startswith("rs3d:"):
        print("  console:", message.text)


def offsite(url: str) -> bool:
    """Whether a request leaves the demo server (the client must stay offline)."""
    return not url.startswith((BASE, "data:", "blob:"))


def new_page(browser: Browser, problems: list[str]) -> Page:
    """Open a 1366x768 page that records problems."""
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.on("console", lambda m: log_console(m, problems))
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    page.on("request", lambda r: offsite(r.url) and problems.append(f"off-site request: {r.url}"))
    page.on("requestfailed", lambda r: problems.append(f"requestfailed: {r.url}"))
    return page


def check_viewer(browser: Browser, problems: list[str], area_id: int = 1, suffix: str = "") -> bool:
    """Load a viewer page, wait for ready, screenshot photo/class/hidden-class views."""
    page = new_page(browser, problems)
    page.goto(f"{BASE}/areas/{area_id}/view/")
    page.wait_for_selector("#status[data-state=ready], #status[data-state=error]", timeout=90000)
    state = page.eval_on_selector("#status", "e => [e.dataset.state, e.textContent]")
    print("viewer status:", state)
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / f"viewer{suffix}.png"))
    page.select_option("#panel select", "class")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SHOTS / f"viewer-class{suffix}.png"))
    page.locator("#panel [data-class-code='6'] input").uncheck()
    page.locator("#panel [data-class-code='2'] input").uncheck()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SHOTS / f"viewer-hidden{suffix}.png"))
    page.eval_on_selector(
        "#panel input[type=range][max='10']",
        "e => { e.value = '8'; e.dispatchEvent(new Event('input')); }",
    )
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SHOTS / f"viewer-size8{suffix}.png"))
    page.close()
    return state[0] == "ready"


def check_empty_area(browser: Browser, problems: list[str]) -> bool:
    """The area without a published version must show the "no 3D result" error."""
    page = new_page(browser, problems)
    page.goto(f"{BASE}/areas/2/view/")
    page.wait_for_selector("#status[data-state=error]", timeout=30000)
    text = page.text_content("#status")
    print("area 2 status:", text)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SHOTS / "viewer-empty.png"))
    page.close()
    return text == "This area has no 3D result yet (status: processing)."


def check_job(browser: Browser, problems: list[str], job_id: int, expected: str) -> dict:
    """Play a fake job and return what the page shows at the end."""
    page = new_page(browser, problems)
    page.goto(f"{BASE}/jobs/{job_id}/")
    page.wait_for_selector(f"#job[data-status={expected}]", timeout=30000)
    page.wait_for_timeout(300)
    info = page.evaluate(
        """() => {
      const q = (s) => document.querySelector("#job " + s);
      return { status: q(".status").textContent, stage: q(".stage").textContent,
        percent: q(".percent").textContent, logs: q(".log").children.length,
        linkHidden: q(".open-viewer").hidden, href: q(".open-viewer").getAttribute("href"),
        errorHidden: q(".error").hidden, error: q(".error").textContent,
        connection: document.getElementById("job").dataset.connection };
    }"""
    )
    print(f"job {job_id}:", json.dumps(info))
    page.screenshot(path=str(SHOTS / f"job-{job_id}.png"))
    page.close()
    return info


def main() -> None:
    """Run every check."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    ok = True
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        ok &= check_viewer(browser, problems)
        ok &= check_viewer(browser, problems, 3, "-uppercase")
        ok &= check_empty_area(browser, problems)
        done = check_job(browser, problems, 12, "succeeded")
        ok &= not done["linkHidden"] and done["href"] == "/areas/1/view/"
        dropped = check_job(browser, problems, 13, "succeeded")
        ok &= dropped["logs"] >= 5
        failed = check_job(browser, problems, 14, "failed")
        ok &= not failed["errorHidden"] and failed["linkHidden"]
        browser.close()
    print("console problems:" if problems else "no console problems")
    for problem in problems:
        print("  ", problem)
    print("OK" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
