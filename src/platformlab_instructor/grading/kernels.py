"""The kernel manager and execute step of a grading kernel: nbgrader's ``Execute``, bounded.

- :class:`BoundedKernelManager` puts :mod:`.launcher` in front of the kernel command
  (memory cap, kernels forked from the :mod:`.zygote`).
- :class:`BoundedExecute` is nbgrader's ``Execute`` with that kernel manager, a scratch
  working directory (which holds neither the source notebooks nor the gradebook), a cap
  on how much output one cell may collect, and an immediate kernel shutdown. When a cell
  kills its kernel (a crash, ``os._exit``) or leaves it deaf to interrupts after the time
  limit, that cell gets an error (:data:`KERNEL_DIED`, :data:`KERNEL_STUCK`), a new kernel
  re-runs the cells before it, and the rest of the notebook still runs and scores.

It does not isolate the file system or the network: student code can still read
absolute paths the grading user can read.
"""

from __future__ import annotations

import os
import shutil
import sys

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat import from_dict
from nbgrader.preprocessors import Execute
from traitlets import Integer, Unicode

from .launcher import note_fallback

#: Output a cell may produce before the rest is dropped (characters, all outputs together).
MAX_CELL_OUTPUT = 200_000
#: The error names a cell gets when its kernel had to be replaced.
KERNEL_DIED, KERNEL_STUCK = "KernelDied", "KernelStuck"
#: The line the output cap leaves where it dropped output.
TRUNCATED = "output truncated by the grader"


def same_python(executable: str) -> bool:
    """Whether ``executable`` is this environment's interpreter (same bin folder), not merely the same binary."""
    found = shutil.which(executable)
    return bool(found) and os.path.dirname(os.path.abspath(found)) == os.path.dirname(os.path.abspath(sys.executable))


class BoundedKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel through :mod:`.launcher`."""

    memory_limit = Integer(2048, help="address-space limit of the kernel, MiB (0: none)").tag(config=True)
    zygote = Unicode("", help="socket of a running zygote to fork kernels from ('' : start them afresh)").tag(config=True)

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        zygote = self.zygote
        if zygote and not (command and same_python(command[0])):
            note_fallback(zygote, f"the kernel runs another Python: {command[:1]}")
            zygote = ""
        return [sys.executable, "-m", "platformlab_instructor.grading.launcher", "--memory", str(self.memory_limit),
                "--zygote", zygote, "--", *command]


class BoundedExecute(Execute):
    """nbgrader's Execute, with a bounded kernel, a scratch folder and capped output."""

    scratch = Unicode("", help="folder the kernel runs in (default: the notebook's folder)").tag(config=True)
    max_cell_output = Integer(MAX_CELL_OUTPUT, help="characters of output kept per cell").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", BoundedKernelManager)
        super().__init__(*args, **kwargs)
        self.shutdown_kernel = "immediate"

    def preprocess(self, nb, resources=None, km=None):
        if self.scratch:
            resources = dict(resources or {})
            resources["metadata"] = {**resources.get("metadata", {}), "path": self.scratch}
        self._output_size = {}
        self._notices = {}
        return super().preprocess(nb, resources, km=km)

    def preprocess_cell(self, cell, resources, index):
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            ename, evalue = KERNEL_DIED, "the kernel stopped while running this cell (the code crashed it or ended Python)"
        except CellTimeoutError:  # raised when the kernel is still busy after the interrupt at the time limit
            ename, evalue = KERNEL_STUCK, "the cell ran past the time limit and the kernel did not stop when interrupted"
        cell.outputs.append(from_dict({"output_type": "error", "ename": ename, "traceback": [f"{ename}: {evalue}"],
                                       "evalue": evalue + "; the grader started a new kernel and ran the cells "
                                                          "before this one again, so the rest still scores"}))
        run_sync(self._replace_kernel)(index)
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
        skip = {self.error_on_timeout["ename"], KERNEL_DIED, KERNEL_STUCK}
        for earlier in self.nb.cells[:index]:
            if earlier.cell_type != "code" or not earlier.source.strip():
                continue
            if any(o.get("ename") in skip for o in earlier.get("outputs", [])):
                continue
            await self.async_wait_for_reply(self.kc.execute(earlier.source, silent=True, store_history=False), earlier)

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
            outs.append(from_dict({"output_type": "stream", "name": name, "text": notice}))
        return None
