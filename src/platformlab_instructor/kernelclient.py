"""A kernel client that never misses a message already waiting in its socket.

With a kernel busy drawing widgets or figures, a reply that has already arrived can
sit unnoticed in the client's socket: the asyncio wait on ZeroMQ's edge-triggered
file descriptor misses its wake-up, and jupyter_client's ``get_msg`` sleeps until
its timeout: the whole cell time limit for a reply, for ever for output. Seen here
in 4 of 40 runs of a notebook with ten widget cells (8 of 80 with two kernels at
once), with ipykernel 6 and 7 alike, and in stock nbgrader. A fresh wait finds the
message at once, so :class:`WatchfulChannel` waits in slices of :data:`POLL_SLICE`;
``tests/test_kernelclient.py`` recreates the race.

Every nbgrader course of platformlab's uses it (``Course.config``), through
``AsyncKernelManager.client_class``.
"""

from __future__ import annotations

import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from traitlets import Type

#: Longest single wait on a kernel socket before looking at it afresh (seconds).
POLL_SLICE = 0.25


class WatchfulChannel(AsyncZMQSocketChannel):
    """A channel that never waits on its socket for more than :data:`POLL_SLICE` at a time."""

    async def get_msg(self, timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = POLL_SLICE if deadline is None else max(0.0, min(POLL_SLICE, deadline - time.monotonic()))
            if await self.socket.poll(int(wait * 1000)):
                return await self._recv()
            if deadline is not None and time.monotonic() >= deadline:
                raise Empty


class WatchfulKernelClient(AsyncKernelClient):
    """nbclient's kernel client, with :class:`WatchfulChannel` for replies and output."""

    shell_channel_class = Type(WatchfulChannel)
    iopub_channel_class = Type(WatchfulChannel)
    control_channel_class = Type(WatchfulChannel)
