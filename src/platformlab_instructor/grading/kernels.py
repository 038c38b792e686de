"""The kernel manager and execute step of a grading kernel: nbgrader's ``Execute``, bounded.

- :class:`BoundedKernelManager` puts :mod:`.launcher` in front of the kernel command
  (memory cap, kernels forked from the :mod:`.zygote`, a box of :mod:`.isolation`); in
  a box the kernel talks over Unix sockets in its folder (``ipc``), not TCP.
- :class:`BoundedExecute` is nbgrader's ``Execute`` with that kernel manager, a scratch
  working directory (which holds neither the source notebooks nor the gradebook), a cap
  on how much output one cell may collect, and an immediate kernel shutdown. Test cells
  are not sent to the kernel: :mod:`.testcells` runs them in this process, asking the
  kernel for the answers (silent requests whose replies come on the shell channel). When a cell
  kills its kernel (a crash, ``os._exit``) or leaves it deaf to interrupts after the time
  limit, that cell gets an error (:data:`KERNEL_DIED`, :data:`KERNEL_STUCK`), a new kernel
  re-runs the cells before it, and the rest of the notebook still runs and scores.

Without boxes (``--isolation none``, or a machine without bubblewrap) student code can
read what the grading user can read.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import secrets
import shutil
import sys
import time
from pathlib import Path
from queue import Empty

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat import from_dict
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

from . import wire
from .launcher import note_fallback
from .testcells import KernelLost, TrustedTests

#: Output a cell may produce before the rest is dropped (characters, all outputs together).
MAX_CELL_OUTPUT = 200_000
#: The error names a cell gets when its kernel had to be replaced.
KERNEL_DIED, KERNEL_STUCK = "KernelDied", "KernelStuck"
#: The line the output cap leaves where it dropped output.
TRUNCATED = "output truncated by the grader"
#: The kinds of trouble the grader observes, worst first.
TROUBLE = ("crashed", "timeout", "memory", "truncated")
#: Seconds the check of :mod:`.guard` may take before the cell runs without it (and is flagged).
GUARD_TIMEOUT = 20
GUARD_SOURCE = (Path(__file__).with_name("guard.py")).read_text(encoding="utf-8")
WIRE_SOURCE = Path(wire.__file__).read_text(encoding="utf-8")


def installing(name: str, source: str) -> str:
    """Code that runs ``source`` in a kernel as the module ``name`` (in ``sys.modules``; nothing in the
    notebook's namespace): how :mod:`.wire` and :mod:`.guard` reach a kernel that cannot import them."""
    return (
        f"(lambda m: (__import__('builtins').exec({source!r}, m.__dict__), "
        f"__import__('sys').modules.__setitem__({name!r}, m)))(__import__('types').ModuleType({name!r}))"
    )


class CallTimeout(Exception):
    """The notebook's code that a test called ran past the time limit (the kernel was interrupted)."""


def cell_name(cell) -> str:
    """A cell's nbgrader id, or its cell id."""
    meta = cell.get("metadata", {}).get("nbgrader")
    return (meta.get("grade_id") if isinstance(meta, dict) else None) or f"cell {cell.get('id', '?')}"


def is_test(cell) -> bool:
    """An autograded test cell (nbgrader scores it from its outputs)."""
    return (
        cell.cell_type == "code"
        and isinstance(cell.metadata.get("nbgrader"), dict)
        and utils.is_grade(cell)
        and not utils.is_solution(cell)
    )


def names_used(source: str) -> list[str]:
    """The names a cell's code reads (for the check of builtins it relies on)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return sorted({node.id for node in ast.walk(tree) if isinstance(node, ast.Name)})


def imports(source: str) -> bool:
    """Whether a cell imports a module at its top level (its time counts as imports, not cells)."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return any(isinstance(node, (ast.Import, ast.ImportFrom)) for node in body)


def same_python(executable: str) -> bool:
    """Whether ``executable`` is this environment's interpreter (same bin folder), not merely the same binary."""
    found = shutil.which(executable)
    return bool(found) and os.path.dirname(os.path.abspath(found)) == os.path.dirname(os.path.abspath(sys.executable))


class BoundedKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel through :mod:`.launcher`."""

    memory_limit = Integer(2048, help="address-space limit of the kernel, MiB (0: none)").tag(config=True)
    zygote = Unicode("", help="name of a running zygote to fork kernels from ('' : start them afresh)").tag(config=True)
    boxed = Bool(False, help="run kernels in boxes (isolation.py)").tag(config=True)
    readable = Unicode("", help="what a box may read, separated by os.pathsep").tag(config=True)
    fallback_log = Unicode("", help="file where a kernel that starts afresh says why").tag(config=True)
    folder = Unicode("", help="the kernel's own folder: its box, its connection file and sockets")
    figures = Bool(True, help="draw the notebook's figures (False: each shows as its text, '<Figure size ...>')").tag(config=True)

    async def _async_pre_start_kernel(self, **kwargs):
        if self.boxed and self.folder:  # the box has its own network: talk over sockets in its folder
            self.transport, self.ip = "ipc", os.path.join(self.folder, "ipc")
            self.connection_file = os.path.join(self.folder, "kernel.json")
        return await super()._async_pre_start_kernel(**kwargs)

    async def _async_kill_kernel(self, restart: bool = False) -> None:
        # jupyter_client kills, finds the process not yet gone and sleeps 0.1 s: wait for it here
        process = getattr(self.provisioner, "process", None)
        if process is not None and process.poll() is None:
            process.kill()
            for _ in range(200):
                if process.poll() is not None:
                    break
                await asyncio.sleep(0.005)
        await super()._async_kill_kernel(restart=restart)

    def format_kernel_cmd(self, extra_arguments=None):
        if not self.figures:  # matplotlib's inline backend then displays each figure's text and draws nothing
            extra_arguments = [*(extra_arguments or []), "--InlineBackend.figure_formats=set()"]
        command = super().format_kernel_cmd(extra_arguments)
        zygote = self.zygote
        if zygote and not (command and same_python(command[0])):
            note_fallback(self.fallback_log, f"the kernel runs another Python: {command[:1]}")
            zygote = ""
        box = ["--box", self.folder, "--readable", self.readable] if self.boxed else []
        return [
            sys.executable,
            "-m",
            "platformlab_instructor.grading.launcher",
            "--memory",
            str(self.memory_limit),
            "--zygote",
            zygote,
            "--fallback-log",
            self.fallback_log,
            "--parent",
            str(os.getpid()),
            *box,
            "--",
            *command,
        ]


class BoundedExecute(Execute):
    """nbgrader's Execute, with a bounded kernel, a scratch folder and capped output."""

    scratch = Unicode("", help="folder the kernel runs in (default: the notebook's folder)").tag(config=True)
    max_cell_output = Integer(MAX_CELL_OUTPUT, help="characters of output kept per cell").tag(config=True)

    #: the instance that ran the latest notebook in this process (the worker reads what it observed)
    latest = None

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", BoundedKernelManager)
        super().__init__(*args, **kwargs)
        self.shutdown_kernel = "immediate"
        self.skip_cells_with_tag = secrets.token_hex(16)  # no submission can name it (restore strips the usual one)
        self.observed: dict[str, list[str]] = {kind: [] for kind in TROUBLE}
        self.flags: list[str] = []
        self.phases: dict[str, float] = {}

    def timed(self, phase: str, since: float) -> None:
        """Add the seconds since ``since`` (``time.monotonic()``) to ``phase`` of :attr:`phases`."""
        self.phases[phase] = self.phases.get(phase, 0.0) + time.monotonic() - since

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.folder = self.scratch
        return km

    def preprocess(self, nb, resources=None, km=None):
        if self.scratch:
            resources = dict(resources or {})
            resources["metadata"] = {**resources.get("metadata", {}), "path": self.scratch}
        self._output_size = {}
        self._notices = {}
        self._guarded = False
        self.tests = None  # TrustedTests of this run, made at its first test cell
        self._interrupted = 0  # times a test's call ran past the time limit
        self.observed, self.flags, self.phases = {kind: [] for kind in TROUBLE}, [], {}
        BoundedExecute.latest = self
        return super().preprocess(nb, resources, km=km)

    # where a submission's time goes (records.Result.phases): kernel start and stop, imports, cells, checks
    async def async_start_new_kernel(self, **kwargs):
        since = time.monotonic()
        try:
            return await super().async_start_new_kernel(**kwargs)
        finally:
            self.timed("kernel start", since)

    async def async_start_new_kernel_client(self):
        since = time.monotonic()
        try:
            return await super().async_start_new_kernel_client()
        finally:
            self.timed("kernel start", since)

    async def _async_cleanup_kernel(self):
        since = time.monotonic()
        try:
            return await super()._async_cleanup_kernel()
        finally:
            self.timed("kernel stop", since)

    # nbclient's setup_kernel calls these synchronous wrappers of its own functions
    start_new_kernel = run_sync(async_start_new_kernel)
    start_new_kernel_client = run_sync(async_start_new_kernel_client)
    _cleanup_kernel = run_sync(_async_cleanup_kernel)

    def saw(self, kind: str, cell) -> None:
        """Note that this grader saw ``kind`` of trouble (one of :data:`TROUBLE`) in ``cell``."""
        if cell_name(cell) not in self.observed[kind]:
            self.observed[kind].append(cell_name(cell))

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.source.strip() and not self._guarded:
            since = time.monotonic()
            self._guard("baseline", [], cell)
            self.timed("guard", since)
        since = time.monotonic()
        try:
            if is_test(cell):
                self._run_test(cell)
            else:
                cell, resources = super().preprocess_cell(cell, resources, index)
        except (DeadKernelError, KernelLost) as error:
            lost = error.cause if isinstance(error, KernelLost) else error
            if isinstance(lost, CellTimeoutError):  # still busy after the interrupt at the time limit
                self.saw("timeout", cell)
                ename, evalue = KERNEL_STUCK, "the cell ran past the time limit and the kernel did not stop when interrupted"
            else:
                self.saw("crashed", cell)
                ename, evalue = KERNEL_DIED, "the kernel stopped while running this cell (the code crashed it or ended Python)"
        except CellTimeoutError:
            self.saw("timeout", cell)
            ename, evalue = KERNEL_STUCK, "the cell ran past the time limit and the kernel did not stop when interrupted"
        else:
            if cell.cell_type == "code":
                self.timed("imports" if imports(cell.source) else "tests" if is_test(cell) else "cells", since)
            if index == len(self.nb.cells) - 1 and self._guarded:
                self._final_check()
            return cell, resources
        cell.outputs.append(
            from_dict(
                {
                    "output_type": "error",
                    "ename": ename,
                    "traceback": [f"{ename}: {evalue}"],
                    "evalue": evalue + "; the grader started a new kernel and ran the cells "
                    "before this one again, so the rest still scores",
                }
            )
        )
        since = time.monotonic()
        run_sync(self._replace_kernel)(index)
        self.timed("kernel replaced", since)
        return cell, self.resources

    async def _replace_kernel(self, index: int) -> None:
        """A new kernel, brought to where the notebook was before cell ``index``.

        The cells before it run again quietly (their outputs are kept from the first
        run), except those that timed out or broke a kernel themselves.
        """
        self.kc.stop_channels()
        await self.km.restart_kernel(now=True)
        await self.async_start_new_kernel_client()
        await self.async_wait_for_reply(self.kc.kernel_info())
        await self._async_guard("baseline", [], self.nb.cells[index])
        skip = {self.error_on_timeout["ename"], KERNEL_DIED, KERNEL_STUCK}
        for earlier in self.nb.cells[:index]:
            if earlier.cell_type != "code" or not earlier.source.strip() or is_test(earlier):
                continue
            if any(o.get("ename") in skip for o in earlier.get("outputs", [])):
                continue
            await self.async_wait_for_reply(self.kc.execute(earlier.source, silent=True, store_history=False), earlier)

    def _run_test(self, cell) -> None:
        """Run test ``cell`` in the grader (:mod:`.testcells`) on the kernel's answers; its outputs as the kernel's."""
        if self.tests is None:
            self.tests = TrustedTests(self._ask, self.max_cell_output)
        cell.outputs, cell.execution_count = [], None
        deadline = time.monotonic() + (self.timeout if self.timeout and self.timeout > 0 else 10**9)
        raised, interrupted = len(self.tests.raised), self._interrupted
        cell.outputs = self.tests.run(cell.source, deadline)
        if "MemoryError" in self.tests.raised[raised:] and getattr(self.km, "memory_limit", 0):
            self.saw("memory", cell)  # (the kernel's own word, as in on_cell_executed)
        if self._interrupted > interrupted:
            self.saw("timeout", cell)

    def _ask(self, expression: str, deadline: float) -> str:
        return run_sync(self._async_ask)(expression, deadline)

    async def _async_ask(self, expression: str, deadline: float) -> str:
        """The string value of ``expression`` evaluated silently in the kernel (:mod:`.wire`'s functions).

        Past ``deadline`` the kernel is interrupted: if it then answers, the test gets a
        :class:`CallTimeout` error; if it does not, or it died, :class:`.testcells.KernelLost`.
        """
        msg_id = self.kc.execute("", silent=True, store_history=False, user_expressions={"r": expression})
        try:
            reply = await self._reply(msg_id, deadline)
        except TimeoutError:
            if not await self.km.is_alive():
                raise KernelLost(DeadKernelError("the kernel died")) from None
            await self.km.interrupt_kernel()
            self._interrupted += 1
            try:
                await self._reply(msg_id, time.monotonic() + 5)
            except TimeoutError:
                raise KernelLost(CellTimeoutError("the kernel did not stop when interrupted")) from None
            raise CallTimeout("the notebook's code ran past the time limit while the test called it") from None
        value = reply["content"].get("user_expressions", {}).get("r", {})
        if value.get("status") != "ok":
            self.flags.append("the kernel's answers to the grader were broken")
            raise ValueError(
                f"the notebook's kernel could not answer the test ({value.get('ename', reply['content'].get('status'))})"
            )
        text = ast.literal_eval(value["data"]["text/plain"])
        if not isinstance(text, str):
            raise ValueError("the notebook's kernel gave the test a malformed answer")
        return text

    def _final_check(self) -> None:
        """After the last cell: what the notebook changed in the kernel, as flags (scores do not depend on it)."""
        since = time.monotonic()
        names = sorted({name for cell in self.nb.cells if is_test(cell) for name in names_used(cell.source)})
        self._guard("check", names, self.nb.cells[-1])
        self.timed("guard", since)

    def _guard(self, call: str, names: list[str], cell) -> None:
        run_sync(self._async_guard)(call, names, cell)

    async def _async_guard(self, call: str, names: list[str], cell) -> None:
        """Run :mod:`.guard`'s ``call`` silently in the kernel; keep what it found as flags.

        The answer travels in the execute reply's ``user_expressions`` (shell channel), tagged
        with a nonce; no answer, or a wrong one, is itself a flag.
        """
        nonce = secrets.token_hex(8)
        if call == "baseline":  # the wire's functions, for the tests' questions, and the guard's baseline
            self._guarded = False
            code = installing(wire.NAME, WIRE_SOURCE) + "\n" + installing("_platformlab_guard", GUARD_SOURCE)
            arguments = repr(nonce)
        else:
            code, arguments = "pass", f"{nonce!r}, {names!r}"
        expression = f"__import__('sys').modules['_platformlab_guard'].{call}({arguments})"
        msg_id = self.kc.execute(code, silent=True, store_history=False, user_expressions={"r": expression})
        where = cell_name(cell)
        try:
            reply = await self._reply(msg_id, time.monotonic() + GUARD_TIMEOUT)
            found = json.loads(ast.literal_eval(reply["content"]["user_expressions"]["r"]["data"]["text/plain"]))
            if found.get("nonce") != nonce:
                raise ValueError("wrong nonce")
        except Exception as error:  # no answer, an error, a forged one: the kernel's machinery is not its own
            self.flags.append(f"{where}: the grader's check of the kernel got no valid answer ({type(error).__name__})")
            return
        if call == "baseline":
            self._guarded = True
        self.flags.extend(f"{where}: {finding}" for finding in found.get("found", []))

    async def _reply(self, msg_id: str, deadline: float) -> dict:
        """The shell reply to ``msg_id`` by ``deadline`` (``time.monotonic()``; TimeoutError otherwise)."""
        while True:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=min(1.0, max(0.1, deadline - time.monotonic()))))
            except Empty:
                if time.monotonic() > deadline or not await self.km.is_alive():
                    raise TimeoutError from None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg
            if time.monotonic() > deadline:
                raise TimeoutError

    async def _async_handle_timeout(self, timeout, cell=None):
        if cell is not None:  # nbclient's own time limit: the one way a cell times out
            self.saw("timeout", cell)
        return await super()._async_handle_timeout(timeout, cell)

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        reply = kwargs["execute_reply"]["content"]
        if reply.get("status") == "error" and reply.get("ename") == "MemoryError" and getattr(self.km, "memory_limit", 0):
            # the kernel's own word (see worker.status): a MemoryError reply while a cap was in force
            self.saw("memory", kwargs["cell"])

    def output(self, outs, msg, display_id, cell_index):
        # Past the cap, drop ordinary output so that a print loop cannot fill the grader's
        # memory or the feedback file. What decides the score is always kept: errors, a
        # (shortened) final result, and one line on stderr if the cell wrote to stderr.
        kind = msg["msg_type"]
        content = msg.get("content", {})
        if kind not in ("stream", "display_data", "execute_result"):
            return super().output(outs, msg, display_id, cell_index)
        size = self._output_size.get(cell_index, 0) + len(content.get("text", ""))
        size += sum(len(str(value)) for value in content.get("data", {}).values())
        self._output_size[cell_index] = size
        if size <= self.max_cell_output:
            return super().output(outs, msg, display_id, cell_index)
        notice = f"\n... {TRUNCATED} after {self.max_cell_output:,} characters ...\n"
        if kind == "execute_result":  # kept (it may be a partial score), shortened if it is itself huge
            if sum(len(str(value)) for value in content.get("data", {}).values()) > self.max_cell_output:
                content["data"] = {"text/plain": notice.strip()}
            return super().output(outs, msg, display_id, cell_index)
        name = content.get("name", "stdout") if kind == "stream" else "stdout"
        marker = ("truncated", name)
        if marker not in self._notices.setdefault(cell_index, set()):
            self._notices[cell_index].add(marker)
            cells = (getattr(self, "nb", None) or {}).get("cells") or []
            if cell_index < len(cells):
                self.saw("truncated", cells[cell_index])
            outs.append(from_dict({"output_type": "stream", "name": name, "text": notice}))
        return None
