"""Database writes that outlast a short outage: reconnect and try again, for a bounded time.

A worker's heartbeat, progress and outcome writes go through :func:`retry_db`. When the database is
unreachable for a moment (PostgreSQL restarted or failed over, a connection cut, SQLite locked for
longer than its 30 s busy timeout), the write fails with an ``OperationalError`` or ``InterfaceError``:
the connection is closed (Django opens a new one at the next query) and the write is tried again
with growing pauses until it succeeds or the patience (the lease, by default) runs out. The
reconstruction child waits meanwhile (its progress pipe fills up), so nothing it reported is lost.
"""

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection

from backend.runtime.lease import lease_seconds
from reconstruction.errors import ProcessingError

logger = logging.getLogger(__name__)

T = TypeVar("T")

_FIRST_PAUSE, _LONGEST_PAUSE = 0.2, 2.0  # seconds between attempts, doubling


class DatabaseUnavailable(ProcessingError):  # noqa: N818 - reads as the reason
    """The database stayed unreachable for longer than the patience; str() says so."""


def retry_db(action: Callable[[], T], what: str, patience: float | None = None) -> T:
    """Run ``action`` (one query, or one whole ``transaction.atomic`` block); on a lost database, retry it.

    Args:
        action: the database work; it must be safe to run again after a failure (each attempt either
            committed nothing or is idempotent).
        what: what it does, for the log ("job 7's heartbeat").
        patience: seconds to keep trying (default: the job lease, ``RS3D_JOB_LEASE_SECONDS``).

    Raises:
        DatabaseUnavailable: the database was still unreachable after ``patience`` seconds.
    """
    if connection.in_atomic_block:  # a failed transaction can only be retried whole, by the caller
        return action()
    deadline = time.monotonic() + (lease_seconds() if patience is None else patience)
    pause, outage_started = _FIRST_PAUSE, 0.0
    while True:
        try:
            result = action()
        except (OperationalError, InterfaceError) as err:
            with contextlib.suppress(Exception):
                connection.close()
            now = time.monotonic()
            if not outage_started:
                outage_started = now
                logger.warning("database unavailable during %s (%s); retrying", what, str(err).strip()[:200])
            if now + pause > deadline:
                raise DatabaseUnavailable(
                    f"The database could not be reached for {now - outage_started:.0f} s while saving {what}; "
                    "the run stopped. Retry it once the database is back."
                ) from err
            time.sleep(pause)
            pause = min(2 * pause, _LONGEST_PAUSE)
            continue
        if outage_started:
            logger.warning("database back after %.1f s; %s saved", time.monotonic() - outage_started, what)
        return result
