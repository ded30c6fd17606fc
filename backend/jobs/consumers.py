"""Websocket that streams a job's state and log lines to the browser.

The worker is another process (maybe another machine). The job row and its events in the database are
the truth; the consumer reads them and pushes what changed. It reads when the worker's
``job.changed`` message arrives through the channel layer (Redis in scale mode: at once, whichever
machine the worker runs on) and, as a fallback, on a timer: twice a second with the in-memory layer,
which carries no message between processes, every few seconds with a shared one. A running job whose
worker stopped beating is failed on the way (:func:`backend.jobs.lease.expire_if_lost`).
"""

import asyncio
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import InMemoryChannelLayer
from django.contrib.auth.models import AnonymousUser

from backend.areas.permissions import visible_areas
from backend.jobs.lease import expire_if_lost
from backend.jobs.models import Job
from backend.jobs.notify import job_group
from backend.jobs.serialize import event_message, job_state

POLL_SECONDS = 0.5  # without a shared channel layer
SHARED_LAYER_POLL_SECONDS = 5.0  # with one (Redis): a safety net only


class JobProgressConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/jobs/<id>/``: sends ``{"type": "job", ...}`` on every change and ``{"type": "log", ...}`` per event."""

    async def connect(self) -> None:
        """Accept, then start following the job; close with 4404 if it does not exist or its area is not visible."""
        self.job_id = int(self.scope["url_route"]["kwargs"]["job_id"])
        self.changed = asyncio.Event()
        await self.accept()
        if not await self._visible():
            await self.close(code=4404)
            return
        if self.channel_layer is not None:
            await self.channel_layer.group_add(job_group(self.job_id), self.channel_name)
        self.follower = asyncio.create_task(self._follow())

    async def disconnect(self, code: int) -> None:
        """Stop following."""
        follower = getattr(self, "follower", None)
        if follower is not None:
            follower.cancel()
            if self.channel_layer is not None:
                await self.channel_layer.group_discard(job_group(self.job_id), self.channel_name)

    async def job_changed(self, message: dict[str, Any]) -> None:
        """Channel-layer handler: the worker changed the job; read it now."""
        self.changed.set()

    async def _follow(self) -> None:
        shared = self.channel_layer is not None and not isinstance(self.channel_layer, InMemoryChannelLayer)
        poll = SHARED_LAYER_POLL_SECONDS if shared else POLL_SECONDS
        last_state: dict[str, Any] | None = None
        last_event = 0
        while True:
            self.changed.clear()
            state, events = await self._snapshot(last_event)
            for event in events:
                await self.send_json(event)
                last_event = event["id"]
            if state != last_state:
                await self.send_json(state)
                last_state = state
            if state["status"] in Job.FINISHED and not events:
                return
            if events:
                continue  # more may be waiting beyond this batch
            try:
                await asyncio.wait_for(self.changed.wait(), timeout=poll)
            except TimeoutError:
                pass

    @database_sync_to_async
    def _visible(self) -> bool:
        user = self.scope.get("user") or AnonymousUser()
        return Job.objects.filter(pk=self.job_id, area__in=visible_areas(user)).exists()

    @database_sync_to_async
    def _snapshot(self, after_event: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        job = expire_if_lost(Job.objects.get(pk=self.job_id))
        events = [event_message(e) for e in job.events.filter(pk__gt=after_event).order_by("pk")[:200]]
        return job_state(job), events
