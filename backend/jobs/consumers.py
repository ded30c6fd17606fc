"""Websocket that streams a job's state and log lines to the browser.

The worker is another process (maybe another machine), so the consumer follows the job through the
database it shares with the worker: it polls the job row and new events twice a second and pushes
what changed. This works the same on SQLite and PostgreSQL, with or without Redis.
"""

import asyncio
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from backend.jobs.models import Job
from backend.jobs.serialize import event_message, job_state

POLL_SECONDS = 0.5


class JobProgressConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/jobs/<id>/``: sends ``{"type": "job", ...}`` on every change and ``{"type": "log", ...}`` per event."""

    async def connect(self) -> None:
        """Accept, then start following the job; close with 4404 if it does not exist."""
        self.job_id = int(self.scope["url_route"]["kwargs"]["job_id"])
        await self.accept()
        if not await self._exists():
            await self.close(code=4404)
            return
        self.follower = asyncio.create_task(self._follow())

    async def disconnect(self, code: int) -> None:
        """Stop following."""
        follower = getattr(self, "follower", None)
        if follower is not None:
            follower.cancel()

    async def _follow(self) -> None:
        last_state: dict[str, Any] | None = None
        last_event = 0
        while True:
            state, events = await self._snapshot(last_event)
            for event in events:
                await self.send_json(event)
                last_event = event["id"]
            if state != last_state:
                await self.send_json(state)
                last_state = state
            if state["status"] in Job.FINISHED and not events:
                return
            await asyncio.sleep(POLL_SECONDS)

    @database_sync_to_async
    def _exists(self) -> bool:
        return Job.objects.filter(pk=self.job_id).exists()

    @database_sync_to_async
    def _snapshot(self, after_event: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        job = Job.objects.get(pk=self.job_id)
        events = [event_message(e) for e in job.events.filter(pk__gt=after_event).order_by("pk")[:200]]
        return job_state(job), events
