"""Websocket that streams a job's state and log lines to the browser.

The worker is another process (maybe another machine). The job row and its events in the database are
the truth; the consumer reads them and pushes what changed. It reads when the worker's
``job.changed`` message arrives through the channel layer (Redis in scale mode: at once, whichever
machine the worker runs on) and, as a fallback, on a timer: twice a second with the in-memory layer,
which carries no message between processes, every few seconds with a shared one. A running job whose
worker stopped beating is failed on the way (:func:`backend.jobs.lease.expire_if_lost`).

Access is checked when the socket connects (4404 if the job's area is not visible) and again with every
read, before anything is sent: once the owner stops sharing the area with the user (or makes it private),
the socket closes with 4403 and forwards nothing more.

Outages do not close the socket. While Redis is down or restarting the consumer polls twice a second
and waits for Redis instead of failing; once it answers again the consumer re-joins its group (a
restarted Redis has forgotten it). A read that meets a database outage is logged and tried again.
"""

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import InMemoryChannelLayer
from django.contrib.auth.models import AnonymousUser
from django.db import InterfaceError, OperationalError
from redis.exceptions import RedisError

from backend.areas.permissions import visible_areas
from backend.jobs.lease import expire_if_lost
from backend.jobs.models import Job
from backend.jobs.notify import job_group
from backend.jobs.serialize import event_message, job_state

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5  # without a shared channel layer, or while it is unreachable
SHARED_LAYER_POLL_SECONDS = 5.0  # with one (Redis): a safety net only
#: What an unreachable or restarting Redis raises from the channel layer.
LAYER_DOWN = (RedisError, OSError)
_LAYER_PAUSES = (0.2, 0.5, 1.0, 2.0)  # seconds between attempts to reach a channel layer that failed
#: Close code of a socket whose user may no longer see the job (sharing revoked while it was open).
ACCESS_REVOKED = 4403


class _AccessRevoked(Exception):
    """The user may no longer see the job's area."""


class JobProgressConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/jobs/<id>/``: sends ``{"type": "job", ...}`` on every change and ``{"type": "log", ...}`` per event."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.layer_down = False
        self.database_down = False
        self.following = False  # set once connect() accepted a visible job

    # channels' AsyncConsumer.__call__ sets ``channel_receive`` to the layer's receive and waits on it beside
    # the socket; an exception from it (Redis down) would close the socket. The setter wraps it instead.
    @property
    def channel_receive(self) -> Callable[[], Awaitable[dict[str, Any]]]:
        """The channel layer's receive, outlasting a Redis outage (see :meth:`_receive_through_outages`)."""
        return self._channel_receive

    @channel_receive.setter
    def channel_receive(self, receive: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        self._channel_receive = functools.partial(self._receive_through_outages, receive)

    async def connect(self) -> None:
        """Accept, then start following the job; close with 4404 if it does not exist or its area is not visible."""
        self.job_id = int(self.scope["url_route"]["kwargs"]["job_id"])
        self.changed = asyncio.Event()
        await self.accept()
        if not await database_sync_to_async(self._may_see)():
            await self.close(code=4404)
            return
        self.following = True
        await self._join()
        self.follower = asyncio.create_task(self._follow())

    async def disconnect(self, code: int) -> None:
        """Stop following."""
        follower = getattr(self, "follower", None)
        if follower is not None:
            follower.cancel()
            if self.channel_layer is not None:
                try:
                    await self.channel_layer.group_discard(job_group(self.job_id), self.channel_name)
                except LAYER_DOWN:
                    pass  # Redis is down: the membership expires there by itself

    async def job_changed(self, message: dict[str, Any]) -> None:
        """Channel-layer handler: the worker changed the job; read it now."""
        self.changed.set()

    async def _follow(self) -> None:
        shared = self.channel_layer is not None and not isinstance(self.channel_layer, InMemoryChannelLayer)
        last_state: dict[str, Any] | None = None
        last_event = 0
        while True:
            poll = SHARED_LAYER_POLL_SECONDS if shared and not self.layer_down else POLL_SECONDS
            self.changed.clear()
            try:
                state, events = await self._snapshot(last_event)
            except _AccessRevoked:
                logger.info("job %s: access revoked; closing its socket", self.job_id)
                await self.close(code=ACCESS_REVOKED)
                return
            except (OperationalError, InterfaceError) as err:
                if not self.database_down:
                    logger.warning(
                        "job %s: database unavailable (%s); reading again until it is back", self.job_id, err
                    )
                self.database_down = True
                await asyncio.sleep(POLL_SECONDS)
                continue
            if self.database_down:
                self.database_down = False
                logger.warning("job %s: the database is back", self.job_id)
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

    async def _join(self) -> bool:
        """Join the job's group (again, after an outage); False, and polling faster, while the layer is down."""
        if self.channel_layer is None or not self.following:
            return True
        try:
            await self.channel_layer.group_add(job_group(self.job_id), self.channel_name)
        except LAYER_DOWN as err:
            self._layer_failed(err)
            return False
        if self.layer_down:
            self.layer_down = False
            logger.warning("job %s: the channel layer is back; following by its messages again", self.job_id)
            self.changed.set()  # read at once whatever happened meanwhile
        return True

    async def _receive_through_outages(self, receive: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        """The layer's next message; while Redis is down, wait for it (re-joining the group) instead of raising."""
        attempt = 0
        while True:
            try:
                if not self.layer_down or await self._join():
                    return await receive()
            except LAYER_DOWN as err:
                self._layer_failed(err)
            await asyncio.sleep(_LAYER_PAUSES[min(attempt, len(_LAYER_PAUSES) - 1)])
            attempt += 1

    def _layer_failed(self, err: BaseException) -> None:
        if not self.layer_down:
            self.layer_down = True
            logger.warning(
                "job %s: the channel layer is unreachable (%s); polling the database until it is back",
                getattr(self, "job_id", "?"),
                err,
            )
            changed = getattr(self, "changed", None)
            if changed is not None:
                changed.set()  # switch the follower to the short poll now

    def _may_see(self) -> bool:
        """Whether the socket's user may see the job (its area is visible to them)."""
        user = self.scope.get("user") or AnonymousUser()
        return Job.objects.filter(pk=self.job_id, area__in=visible_areas(user)).exists()

    @database_sync_to_async
    def _snapshot(self, after_event: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The job's state and its events after ``after_event``, if the user may still see them.

        Raises:
            _AccessRevoked: the job's area is no longer visible to the user (one query per read).
        """
        if not self._may_see():
            raise _AccessRevoked
        job = expire_if_lost(Job.objects.get(pk=self.job_id))
        events = [event_message(e) for e in job.events.filter(pk__gt=after_event).order_by("pk")[:200]]
        return job_state(job), events
