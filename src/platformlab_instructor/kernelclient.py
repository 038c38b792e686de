"""A kernel client that never misses a message already waiting in its socket.

With a kernel busy drawing widgets or figures, a reply that has already arrived can
sit unnoticed in the client's socket: the asyncio wait on ZeroMQ's edge-triggered
file descriptor misses its wake-up, and jupyter_client's ``get_msg`` sleeps until
its timeout: the whole cell time limit for a reply, for ever for output. Seen here
in 4 of 40 runs of a notebook with ten widget cells (8 of 80 with two kernels at
once), with ipykernel 6 and 7 alike, and in stock nbgrader. A fresh wait finds the
message at once, so :class:`WatchfulChannel` waits in slices of :data:`POLL_SLICE`;
``tests/test_kernelclient.py`` recreates the race. (The same kind of missed event with
``zmq.asyncio`` sockets: zeromq/pyzmq#1203.)

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
    """nbclient's kernel client, with :class:`WatchfulChannel` for replies and output, ready as soon as
    the kernel has answered ``kernel_info`` and IOPub is known to be connected.

    (jupyter_client's own ``wait_for_ready`` then waits for 0.2 s without any message on IOPub, its
    check that IOPub is connected and a flush: 0.2 s per kernel. Here IOPub is proven connected by
    the kernel's ``iopub_welcome`` (ipykernel 7 sends it to each new subscriber, JEP 65) or by the idle
    status after one of the client's requests; other messages are told apart by their parent.
    A kernel forked in milliseconds often publishes that idle status before the subscription has
    reached it; without the welcome, the client would wait 0.5 s for it and ask again.
    Any request counts, not only the latest: like jupyter_client, it asks again after each
    second without an answer, so a kernel slow to start answers older requests first, and the
    idle status of one may have gone by while the client read the reply to another.)
    """

    shell_channel_class = Type(WatchfulChannel)
    iopub_channel_class = Type(WatchfulChannel)
    control_channel_class = Type(WatchfulChannel)

    #: ``kernel_info`` requests the latest :meth:`wait_for_ready` sent (1 unless the kernel was slow or IOPub late)
    requests = 0

    async def _async_wait_for_ready(self, timeout=None):
        deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
        asked = set()  # every request: a kernel slow to start answers the first after the next is sent
        connected = False  # IOPub: welcomed, or the idle status of a request of ours seen
        while True:
            asked.add(self.kernel_info())
            self.requests = len(asked)
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply and reply["msg_type"] == "kernel_info_reply" and reply["parent_header"].get("msg_id") in asked:
                try:
                    while not connected:
                        connected = proves_iopub(await self.iopub_channel.get_msg(timeout=0.5), asked)
                    self._handle_kernel_info_reply(reply)
                    return
                except Empty:
                    pass  # IOPub not connected yet: ask again, as jupyter_client does
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

    wait_for_ready = _async_wait_for_ready


def proves_iopub(message: dict, asked: set) -> bool:
    """Does this IOPub ``message`` show that the client's subscription has reached the kernel: its
    welcome, or the idle status that ends one of the ``asked`` requests?"""
    if message["msg_type"] == "iopub_welcome":
        return True
    return message["parent_header"].get("msg_id") in asked and message["content"].get("execution_state") == "idle"
