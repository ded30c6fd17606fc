"""Tell websocket consumers that a job changed, through the channel layer (Redis in scale mode).

The job row and its events in the database stay the truth; the message only wakes the consumers that
follow the job (group :func:`job_group`), wherever they run, so they read and push the change at once.
With the in-memory layer a worker's message reaches no other process, and consumers fall back to
polling the database (see :mod:`backend.jobs.consumers`).

Notifying is best effort: when the layer fails (Redis down or restarting), the failure is logged once
and the worker sends nothing for a while, so a job does not keep waiting on an unreachable Redis: 2 s
after a refused connection (a restart), longer after a slow failure (a connect timeout: five times what
the attempt cost). The consumers' polling delivers the changes meanwhile.
"""

import logging
import time
import weakref
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

#: The channel-layer message type; the consumer's handler is ``job_changed``.
JOB_CHANGED = "job.changed"

#: After a failed message, send nothing for this long (seconds), plus five times what the attempt took.
QUIET_SECONDS = 2.0

#: Per layer: the monotonic time until which messages are skipped after a failure (one log line per outage).
_quiet_until: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


def job_group(job_id: int) -> str:
    """Channel-layer group of the consumers following ``job_id``."""
    return f"rs3d.job.{job_id}"


def notify_job_changed(job_id: int) -> None:
    """Wake the consumers following ``job_id``; call it after the change is committed.

    A channel-layer failure (Redis down) is logged and swallowed: the consumers' polling still delivers.
    """
    layer = get_channel_layer()
    if layer is None or time.monotonic() < _quiet_until.get(layer, 0.0):
        return
    started = time.monotonic()
    try:
        async_to_sync(layer.group_send)(job_group(job_id), {"type": JOB_CHANGED, "job": job_id})
    except Exception as err:
        if layer not in _quiet_until:
            logger.warning(
                "could not notify the channel layer about job %s (%s); websockets follow jobs by polling "
                "until it is back",
                job_id,
                err,
            )
        now = time.monotonic()
        _quiet_until[layer] = now + QUIET_SECONDS + 5 * (now - started)
        return
    if _quiet_until.pop(layer, None) is not None:
        logger.warning("the channel layer is back; job changes are pushed again")
