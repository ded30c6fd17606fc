"""At most ``RS3D_MAX_CONCURRENT_CHECKS`` upload checks at once, across every web process sharing the database.

Each upload's files are checked in a child process (:func:`backend.runtime.runner.check_inputs_process`) that
may take hundreds of MB: eight uploads at once took 2.5 GB in the web process tree. A check holds one of
the slots while it runs; an upload that finds none free waits (``RS3D_CHECK_QUEUE_WAIT_S``) and is then
refused with :class:`ChecksBusy`, which the views answer 503 with ``Retry-After``.

A slot is a lock that the death of its holder releases by itself. The cap exists because processes get
killed for memory; a slot kept as a lease in a table or a cache key would stay taken after such a kill
until it expired, refusing uploads meanwhile. The lock lives where the database lives, so it is shared by
exactly the processes that share the data:

- PostgreSQL (scale mode, any number of web hosts): session advisory locks,
  ``pg_try_advisory_lock(namespace, slot)`` on the request's own connection; the server drops them when
  that connection ends, whatever ended it.
- SQLite (embedded mode, one host by construction: SQLite needs a local disk): ``flock`` on
  ``RS3D_HOME/check-slots/<slot>.lock``; the kernel drops it when the holding file is closed or its
  process dies. ``flock`` rather than ``fcntl`` locks: flock belongs to the open file, so two requests
  in threads of one web (uvicorn) process exclude each other too.

Redis is not used: it is optional, and its fail-soft cache (:mod:`backend.jobs.cache`) would turn a Redis
outage into no cap at all.
"""

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection

#: First key of the advisory locks: "rs3d" in ASCII; the second key is the slot's number.
_NAMESPACE = 0x72733364
#: How often a waiting upload looks for a free slot, seconds.
_POLL_SECONDS = 0.25
#: What a refused upload is told to wait before sending again, seconds (a check usually takes seconds).
RETRY_AFTER_SECONDS = 30


class ChecksBusy(Exception):  # noqa: N818 - reads as the server's state
    """Every check slot stayed taken for ``RS3D_CHECK_QUEUE_WAIT_S``; try again in ``retry_after`` seconds."""

    def __init__(self, slots: int, waited: float) -> None:
        super().__init__(
            f"The server is busy checking other uploads (at most {slots} at a time) and none finished within "
            f"{waited:.0f} s. Nothing of this upload was stored: send it again in about {RETRY_AFTER_SECONDS} s."
        )
        self.retry_after = RETRY_AFTER_SECONDS


@contextlib.contextmanager
def check_slot() -> Iterator[None]:
    """Hold one of the ``RS3D_MAX_CONCURRENT_CHECKS`` slots while the block runs (no cap when that is 0).

    Waits up to ``RS3D_CHECK_QUEUE_WAIT_S`` seconds for a slot to come free.

    Raises:
        ChecksBusy: no slot came free in time.
    """
    slots = int(settings.RS3D_MAX_CONCURRENT_CHECKS)
    if slots <= 0:
        yield
        return
    locks = _AdvisoryLocks() if connection.vendor == "postgresql" else _FileLocks()
    wait = float(settings.RS3D_CHECK_QUEUE_WAIT_S)
    give_up = time.monotonic() + wait
    while (slot := locks.take(slots)) is None:
        if time.monotonic() >= give_up:
            raise ChecksBusy(slots, wait)
        time.sleep(_POLL_SECONDS)
    try:
        yield
    finally:
        locks.release(slot)


class _AdvisoryLocks:
    """Slots as PostgreSQL session advisory locks on this thread's connection."""

    def take(self, slots: int) -> int | None:
        """The number of a slot now held by this connection; None if all are taken."""
        with connection.cursor() as cursor:
            for slot in range(slots):
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_NAMESPACE, slot])
                if cursor.fetchone()[0]:
                    return slot
        return None

    def release(self, slot: int) -> None:
        """Let go of ``slot``; a connection that broke meanwhile already let go of it."""
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_NAMESPACE, slot])


class _FileLocks:
    """Slots as ``flock`` locks on files under ``RS3D_HOME/check-slots/``."""

    def take(self, slots: int) -> int | None:
        """An open file descriptor holding a slot's lock; None if all are taken."""
        folder = Path(settings.RS3D_HOME) / "check-slots"
        folder.mkdir(exist_ok=True)
        for slot in range(slots):
            fd = os.open(folder / f"{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return fd
        return None

    def release(self, slot: int) -> None:
        """Close the slot's file, which drops its lock."""
        os.close(slot)
