"""A Redis database of its own for each pytest-xdist worker: ``-p tests.xdist_redis`` (scripts/test.sh's
scale-mode pass).

Both workers' test databases hold a job 1 and a user 1, so on one Redis database a job group, a websocket's
channel or an upload count of one worker would reach the other. Worker ``gwN`` gets database ``D + N``,
where ``D`` is the one REDIS_URL names (0 when it names none).

A plugin named with ``-p`` is imported before pytest-django reads the settings, which read REDIS_URL once;
xdist has set PYTEST_XDIST_WORKER by then. Outside xdist, or without REDIS_URL, it changes nothing.
"""

import os
import re


def worker_redis_url(url: str, worker: str) -> str:
    """``url`` moved to database ``D + N`` for xdist worker ``gwN``; unchanged for no worker or another scheme."""
    parts = re.fullmatch(r"(rediss?://[^/]+)(?:/(\d+))?/?", url)
    if not (worker.startswith("gw") and parts):
        return url
    return f"{parts[1]}/{int(parts[2] or 0) + int(worker[2:])}"


#: REDIS_URL as the pass was given it, before this worker's database was chosen.
GIVEN_REDIS_URL = os.environ.get("REDIS_URL", "")
if GIVEN_REDIS_URL:
    os.environ["REDIS_URL"] = worker_redis_url(GIVEN_REDIS_URL, os.environ.get("PYTEST_XDIST_WORKER", ""))
