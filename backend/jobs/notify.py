"""Tell websocket consumers that a job changed, through the channel layer (Redis in scale mode).

The job row and its events in the database stay the truth; the message only wakes the consumers that
follow the job (group :func:`job_group`), wherever they run, so they read and push the change at once.
With the in-memory layer a worker's message reaches no other process, and consumers fall back to
polling the database (see :mod:`backend.jobs.consumers`).
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

#: The channel-layer message type; the consumer's handler is ``job_changed``.
JOB_CHANGED = "job.changed"


def job_group(job_id: int) -> str:
    """Channel-layer group of the consumers following ``job_id``."""
    return f"rs3d.job.{job_id}"


def notify_job_changed(job_id: int) -> None:
    """Wake the consumers following ``job_id``; call it after the change is committed.

    A channel-layer failure (Redis down) is logged and swallowed: the consumers' polling still delivers.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(job_group(job_id), {"type": JOB_CHANGED, "job": job_id})
    except Exception:
        logger.warning("could not notify the channel layer about job %s", job_id, exc_info=True)
