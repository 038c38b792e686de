"""Grade on a Dask cluster (``platformlab grade --scheduler ADDRESS`` or ``--cluster local``).

The same job as :mod:`.pool`, with :func:`run` of the same signature, for machines that share no
file system with this one. Each task carries what a worker needs: the course bundle (the lesson
sources, the generated gradebook and the student releases, scattered once to every worker and
known by its content hash) and the submission's bytes. A Dask worker process unpacks the bundle
into a folder of its own and calls :func:`.worker.start` once (its scratch course, box and zygote),
then :func:`.worker.grade` per task. The result comes back with the staging files' bytes; this
process writes them into the task's staging folder and hands the result to ``on_result``, so that
:mod:`.pipeline` stays the single writer.

A worker that dies mid-task: the scheduler gives the task to another worker (Dask's
``distributed.scheduler.allowed-failures``, default 3); a task that kills every worker it meets
ends as one ``error`` row. Run workers with one thread each (``dask worker --nthreads 1``, one
worker process per core): a worker process grades one submission at a time whatever its threads.
Workers need the same environment as this machine: ``pip install platformlab[dask]`` with the pins.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import PlatformlabError
from .records import Result, Task

if TYPE_CHECKING:  # not imported here: this module is loaded by the Dask worker's event loop (see grade_remote)
    from . import worker
    from .progress import Progress

log = logging.getLogger(__name__)

#: ``--cluster local``: start a LocalCluster here instead of connecting to a scheduler.
LOCAL = "local"
#: Seconds to reach the scheduler, and to wait for its first worker, before giving up.
CONNECT_TIMEOUT = 10
#: The files a worker sends back, from the task's staging folder.
STAGED = ("submitted.ipynb", "autograded.ipynb", "feedback.html")


class ClusterError(PlatformlabError):
    """The Dask cluster cannot be used: dask is not installed, the scheduler is unreachable, or it has no usable worker."""


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterError("grading on a Dask cluster needs the dask extra: pip install 'platformlab[dask]'") from None
    return distributed


class Connection:
    """A client of a Dask cluster (and the LocalCluster it started, for ``--cluster local``); close it after use."""

    def __init__(self, client, cluster=None):
        self.client, self.cluster = client, cluster

    def workers(self) -> int:
        """The threads the cluster has now (its parallelism)."""
        return sum(info.get("nthreads", 1) for info in self.client.scheduler_info()["workers"].values()) or 1

    def unavailable(self) -> str:
        """Why some worker cannot box student code ("" when all can): the box is the workers' business, not this machine's."""
        answers = self.client.run(_unavailable)
        return next((f"worker {address}: {why}" for address, why in sorted(answers.items()) if why), "")

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def connect(scheduler: str, workers: int = 2, timeout: float = CONNECT_TIMEOUT) -> Connection:
    """Connect to the scheduler at ``scheduler`` (or start a LocalCluster of ``workers`` processes, for
    :data:`LOCAL`), wait for a worker and check the workers can import platformlab.

    Raises :class:`ClusterError` before anything is written, so a bad address costs nothing.
    """
    distributed = _distributed()
    cluster = None
    try:
        if scheduler == LOCAL:
            cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
            )
            scheduler = cluster.scheduler_address
        client = distributed.Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        if cluster is not None:
            cluster.close()
        raise ClusterError(f"cannot reach the Dask scheduler at {scheduler} within {timeout:g} s: {error}") from None
    connection = Connection(client, cluster)
    try:
        client.wait_for_workers(1, timeout=timeout)
        versions = client.run(_probe)
        client.run(_warm)
    except (OSError, TimeoutError) as error:
        connection.close()
        raise ClusterError(f"the Dask scheduler at {scheduler} has no worker ready after {timeout:g} s ({error})") from None
    except Exception as error:  # a worker without platformlab cannot even unpickle the probe
        connection.close()
        raise ClusterError(
            f"the Dask workers cannot run platformlab ({type(error).__name__}: {error}); "
            "install platformlab[dask] on every worker, with the same pins"
        ) from None
    from platformlab import __version__

    wrong = {address: version for address, version in versions.items() if version != __version__}
    if wrong:
        connection.close()
        raise ClusterError(f"Dask workers run another platformlab than this one ({__version__}): {wrong}")
    log.info("grading on the Dask cluster at %s: %d worker thread(s)", scheduler, connection.workers())
    return connection


def run(
    tasks: list[Task],
    settings: worker.Settings,
    work: Path,
    jobs: int,
    on_result: Callable[[Task, Result], None],
    progress: Progress,
    connection: Connection | None = None,
) -> None:
    """Grade ``tasks`` on the cluster of ``connection``, calling ``on_result(task, result)`` here, one at a time.

    ``work`` and ``jobs`` are the local pool's: the workers use folders of their own, and the cluster's
    size sets the parallelism. At most a few tasks per worker thread are in flight, so a class of
    thousands is not held in memory at once.
    """
    if connection is None:
        raise ClusterError("no Dask cluster to grade on")
    distributed = _distributed()
    client = connection.client
    if not tasks:
        return
    files = bundle(settings)
    digest = fingerprint(files)
    [shipped] = client.scatter([files], broadcast=True, hash=False)  # a list of one: a dict would scatter per file
    run_id = uuid.uuid4().hex[:8]
    queue = list(reversed(tasks))
    futures = distributed.as_completed(loop=client.loop)
    in_flight: dict[str, tuple[Task, object]] = {}

    def submit() -> None:
        task = queue.pop()
        future = client.submit(
            grade_remote,
            asdict(settings),
            digest,
            shipped,
            task.key,
            task.lesson,
            Path(task.path).read_bytes(),
            key=f"platformlab-grade-{run_id}-{task.key}",
            retries=1,
            pure=False,
        )
        in_flight[future.key] = (task, future)
        futures.add(future)

    for _ in range(min(len(queue), max(4, 2 * connection.workers()))):
        submit()
    try:
        for future in futures:
            task, _ = in_flight.pop(future.key)
            try:
                result, staged, fallbacks = future.result()
            except Exception as error:  # KilledWorker: it took down every worker it was given to
                result, staged, fallbacks = _failed(task, error), {}, []
            future.release()
            _receive(task, staged, fallbacks, settings)
            on_result(task, result)
            progress.advance(result.status)
            if queue:
                submit()
    finally:
        client.cancel([future for _, future in in_flight.values()] + [shipped])


def _failed(task: Task, error: BaseException) -> Result:
    import traceback

    name = type(error).__name__
    if name == "KilledWorker":
        message = "the grading process died each time it graded this submission (on several Dask workers)"
    else:
        message = f"grading on the Dask cluster failed: {name}: {error}"
    return Result(task.key, "error", message, detail="".join(traceback.format_exception(error))[-4000:])


def _receive(task: Task, staged: dict[str, bytes], fallbacks: list[str], settings: worker.Settings) -> None:
    """Put the worker's files where :func:`.pipeline._finish` reads them, and its fallback notes in the run's log."""
    staging = Path(task.staging)
    staging.mkdir(parents=True, exist_ok=True)
    for name, data in staged.items():
        if name in STAGED:
            (staging / name).write_bytes(data)
    if fallbacks and settings.fallback_log:
        with open(settings.fallback_log, "a", encoding="utf-8") as handle:
            handle.writelines(line if line.endswith("\n") else line + "\n" for line in fallbacks)


def bundle(settings: worker.Settings) -> dict[str, bytes]:
    """What a remote worker needs of the course, as relative path -> bytes: the template (sources and
    generated gradebook) under ``template/``, the releases under ``release/``."""
    files = {}
    template = Path(settings.template)
    for path in sorted(template.rglob("*")):
        if path.is_file():
            files["template/" + path.relative_to(template).as_posix()] = path.read_bytes()
    for stem, path in sorted(settings.releases.items()):
        files[f"release/{stem}.ipynb"] = Path(path).read_bytes()
    return files


def fingerprint(files: dict[str, bytes]) -> str:
    """The bundle's content hash: a worker unpacks a bundle once, whatever the run that sends it."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


# --- on the Dask worker ---------------------------------------------------------------------------

_lock = threading.Lock()
_thread: list = []  # the queue of the one thread this process grades on: worker.py keeps one course per process
_ready: dict = {}  # digest, folder and fallback-log offset of the bundle this process has started


def _on_grading_thread(function, *args):
    """Run ``function(*args)`` on this process's grading thread; a Future of its result.

    A daemon thread, unlike a ThreadPoolExecutor's: a worker that is told to close does not wait for it.
    """
    import queue
    from concurrent.futures import Future

    with _lock:
        if not _thread:
            jobs: queue.Queue = queue.Queue()
            _thread.append(jobs)
            threading.Thread(target=_serve, args=(jobs,), name="platformlab-grade", daemon=True).start()
    future: Future = Future()
    _thread[0].put((future, function, args))
    return future


def _serve(jobs) -> None:
    while True:
        future, function, args = jobs.get()
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(function(*args))
            except BaseException as error:  # handed to the Dask task that waits for it
                future.set_exception(error)


def _probe() -> str:
    """Run on each worker by :func:`connect`: platformlab's version, if its grader is there (not imported: see grade_remote)."""
    import importlib.util

    from platformlab import __version__

    if importlib.util.find_spec("nbgrader") is None:
        raise ModuleNotFoundError("nbgrader is not installed")
    return __version__


def _warm() -> None:
    """Start importing the grader (nbgrader, nbconvert: seconds) on the grading thread while the client sets up the course."""
    _on_grading_thread(__import__, "platformlab_instructor.grading.worker")


def _unavailable() -> str:
    from .isolation import unavailable

    return unavailable()


def _start(settings: dict, digest: str, files: dict[str, bytes]) -> None:
    """Unpack the bundle into this process's folder and set up the worker, once per bundle and process."""
    if _ready.get("digest") == digest:
        return
    from multiprocessing.util import Finalize

    from . import worker

    if _ready.get("folder"):  # another course: the earlier one's zygote stays until the process ends
        shutil.rmtree(_ready["folder"], ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=f"platformlab-{digest[:12]}-"))
    for name, data in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    fallbacks = folder / "fallbacks.log"
    (folder / "workers").mkdir()
    local = worker.Settings(
        **{
            **settings,
            "template": str(folder / "template"),
            "fallback_log": str(fallbacks),
            "releases": {stem: str(folder / "release" / f"{stem}.ipynb") for stem in settings["releases"]},
        }
    )
    worker.start(local, str(folder / "workers"))
    Finalize(None, shutil.rmtree, args=(str(folder),), kwargs={"ignore_errors": True}, exitpriority=5)
    _ready.clear()
    _ready.update(digest=digest, folder=str(folder), fallbacks=fallbacks, offset=0)


def _new_fallbacks() -> list[str]:
    """The lines this process's kernels added to its fallback log since the last call."""
    path = _ready["fallbacks"]
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as handle:
        handle.seek(_ready["offset"])
        text = handle.read()
        _ready["offset"] = handle.tell()
    return text.splitlines()


def grade_remote(
    settings: dict, digest: str, files: dict[str, bytes], key: str, lesson: str, submission: bytes
) -> tuple[Result, dict[str, bytes], list[str]]:
    """Grade one submission on a Dask worker: the result, the staging files' bytes and new fallback notes.

    The work runs on one thread of this module's: one submission at a time per process, as
    worker.py needs. Imports happen there too, never on the worker's event loop thread (which
    also unpickles this task's arguments, hence ``settings`` as a dict): on Python 3.11, importing
    nbgrader deep in that thread's stack mapped and unmapped a frame-stack chunk ~700,000 times,
    seconds of system time per worker.
    """
    return _on_grading_thread(_grade_here, settings, digest, files, key, lesson, submission).result()


def _grade_here(
    settings: dict, digest: str, files: dict[str, bytes], key: str, lesson: str, submission: bytes
) -> tuple[Result, dict[str, bytes], list[str]]:
    from . import worker

    _start(settings, digest, files)
    inbox = Path(tempfile.mkdtemp(prefix="task-", dir=_ready["folder"]))
    try:
        path = inbox / "submission.ipynb"
        path.write_bytes(submission)
        result = worker.grade(Task(key, lesson, str(path), str(inbox / "staging")))
        staged = {name: (inbox / "staging" / name).read_bytes() for name in STAGED if (inbox / "staging" / name).exists()}
        return result, staged, _new_fallbacks()
    finally:
        shutil.rmtree(inbox, ignore_errors=True)
