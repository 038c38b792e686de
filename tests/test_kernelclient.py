"""Does the kernel client (:mod:`platformlab_instructor.kernelclient`) read a reply whose wake-up was lost?"""

from __future__ import annotations

import asyncio
import time

import nbformat
import pytest
import zmq
import zmq.asyncio
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.session import Session
from nbgrader.preprocessors import Execute

from platformlab_instructor import lessons
from platformlab_instructor.course import Course
from platformlab_instructor.grading.kernels import BoundedExecute
from platformlab_instructor.grading.worker import GradingCourse
from platformlab_instructor.kernelclient import POLL_SLICE, WatchfulChannel, WatchfulKernelClient

#: Far longer than one poll slice; a channel that has not answered by then never will.
PATIENCE = 16 * POLL_SLICE


async def _reply_with_lost_wakeup(channel_class) -> dict:
    """Wait for a message on ``channel_class`` while the socket's wake-up for it is consumed.

    This is the race seen with two kernels at once: the reply is in the client's
    socket, but the edge-triggered file descriptor that asyncio waits on has already
    been reset (here: by asking the raw socket for its events behind pyzmq's back).
    """
    context = zmq.asyncio.Context()
    receiver = context.socket(zmq.PAIR)
    port = receiver.bind_to_random_port("tcp://127.0.0.1")
    sender = zmq.Context().socket(zmq.PAIR)
    sender.connect(f"tcp://127.0.0.1:{port}")
    session = Session()
    try:
        channel = channel_class(receiver, session)
        await asyncio.sleep(0.2)  # connected
        waiting = asyncio.ensure_future(asyncio.wait_for(channel.get_msg(timeout=None), PATIENCE))
        await asyncio.sleep(0.1)  # get_msg is now waiting on the file descriptor
        session.send(sender, "execute_reply", {"status": "ok"})
        time.sleep(0.2)  # the message lands while the event loop is busy ...
        zmq.Socket.shadow(receiver.underlying).getsockopt(zmq.EVENTS)  # ... and its wake-up is used up
        return await waiting
    finally:
        sender.close(linger=0)
        receiver.close(linger=0)


def test_a_reply_whose_wakeup_was_lost_is_still_read():
    message = asyncio.run(_reply_with_lost_wakeup(WatchfulChannel))
    assert message["msg_type"] == "execute_reply"


def test_the_lost_wakeup_is_real_for_the_stock_channel():
    # The race the watchful channel exists for: jupyter_client's own channel never reads it.
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(_reply_with_lost_wakeup(AsyncZMQSocketChannel))


def test_every_course_grades_through_the_watchful_client(tmp_path):
    """Do both the lesson tests' course and `platformlab grade`'s course read replies with it?"""
    lesson = lessons.find()[0]
    courses = [
        (Execute, Course(tmp_path / "plain", {lesson.stem: lesson.solution})),
        (BoundedExecute, GradingCourse(tmp_path / "grading", {lesson.stem: lesson.solution})),
    ]
    for execute, course in courses:
        preprocessor = execute(config=course.config())
        preprocessor.nb = nbformat.v4.new_notebook()
        assert preprocessor.create_kernel_manager().client_factory is WatchfulKernelClient, execute.__name__


def test_a_kernel_slow_to_start_is_ready_when_it_answers():
    """A kernel busy for longer than one ``kernel_info`` wait (1 s) as it starts, as under load: the
    client has asked again by the time the first answer comes. Is it ready once the kernel answers?
    (Matching each answer to the latest question only, the client stayed one answer behind for
    ever, and a loaded test run failed with "Kernel didn't respond in 60 seconds".)"""

    async def start() -> float:
        manager = AsyncKernelManager(client_class="platformlab_instructor.kernelclient.WatchfulKernelClient")
        await manager.start_kernel(extra_arguments=["--IPKernelApp.exec_lines=import time; time.sleep(2.5)"])
        client = manager.client()
        client.start_channels()
        try:
            since = time.monotonic()
            await client.wait_for_ready(timeout=20)
            return time.monotonic() - since
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)

    assert asyncio.run(start()) < 10  # answered after about 2.5 s; ready within a few waits of it


def test_a_kernel_is_ready_once_iopub_is_welcomed():
    """A subscription to IOPub that reaches the kernel after the idle status of ``kernel_info`` has gone
    out, as with kernels forked in milliseconds: is the client ready at the kernel's welcome to IOPub,
    without a second request? (Waiting for that idle status alone, the client waited 0.5 s and asked
    again, in about one kernel start of three when grading.) Here each of 20 clients connects IOPub
    only after the kernel has answered it once, so the idle status is often missed."""

    async def connect(manager) -> int:
        client = manager.client()
        # The IOPub channel connects when first used. No heartbeat: a client stopped milliseconds after it
        # started can destroy its context while the heartbeat thread makes its socket (that thread's
        # exception, "Too many open files", showed in 2 of about 20 loaded full runs).
        client.start_channels(iopub=False, hb=False)
        try:
            first = client.kernel_info()
            while (await client.shell_channel.get_msg(timeout=20))["parent_header"].get("msg_id") != first:
                pass
            await client.wait_for_ready(timeout=20)
            return client.requests
        finally:
            client.stop_channels()

    async def clients() -> list[int]:
        manager = AsyncKernelManager(client_class="platformlab_instructor.kernelclient.WatchfulKernelClient")
        await manager.start_kernel()
        try:
            return [await connect(manager) for _ in range(20)]
        finally:
            await manager.shutdown_kernel(now=True)

    assert asyncio.run(clients()) == [1] * 20
