"""Running independent tasks in parallel, surviving failures: processes or a Dask cluster.

:func:`run_tasks` maps a picklable module-level function over tasks and returns one
:class:`TaskOutcome` per task, in input order. An exception inside a task becomes a failed
outcome with its message; a worker process that dies (killed, out of memory, a crash in
native code) breaks only the tasks that were running in it: the others are resubmitted,
and each task that was in flight when a worker died is retried alone, so the one that
kills its worker is reported and every other result is kept.

Example
-------
>>> outcomes = run_tasks(abs, [-1, 2], jobs=1)
>>> [o.value for o in outcomes]
[1, 2]
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from bcsc_flow.errors import BcscFlowError

__all__ = ["TaskOutcome", "run_tasks"]


@dataclass(frozen=True)
class TaskOutcome:
    """What became of one task: its value, or the error type and message."""

    index: int
    value: Any = None
    error_type: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        """True when the task returned a value."""
        return not self.error_type


def _call(func: Callable[[Any], Any], index: int, task: Any) -> TaskOutcome:
    try:
        return TaskOutcome(index, value=func(task))
    except BcscFlowError as exc:
        return TaskOutcome(index, error_type=type(exc).__name__, message=str(exc))
    except Exception as exc:  # a bug or an unexpected failure: keep the traceback's last line
        tail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return TaskOutcome(index, error_type=type(exc).__name__, message=tail)


def _call_one_thread(func: Callable[[Any], Any], index: int, task: Any) -> TaskOutcome:
    """:func:`_call` with one BLAS thread: a Dask worker's task owns one core."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return _call(func, index, task)
    _load_lazy_blas()
    with threadpool_limits(1), _reused_heap():
        return _call(func, index, task)


_M_TRIM_THRESHOLD = -1  # glibc mallopt parameters
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's own upper bound on 64-bit


@contextlib.contextmanager
def _reused_heap() -> Iterator[None]:
    """Let glibc reuse freed heap memory for large arrays during one task.

    Dask starts its workers with ``MALLOC_TRIM_THRESHOLD_`` set, which freezes glibc's
    mmap threshold at 128 KiB: every array of a 10^5-event column is then a fresh
    ``mmap`` whose pages fault in again (one batch unit took 22.7 s instead of 10.8 s,
    5.1 M instead of 0.34 M minor page faults). The worker's settings are put back after.
    """
    fixed = "MALLOC_TRIM_THRESHOLD_" in os.environ or "MALLOC_MMAP_THRESHOLD_" in os.environ
    mallopt = _glibc_mallopt() if fixed else None
    if mallopt is None:
        yield
        return
    previous = {
        _M_MMAP_THRESHOLD: _env_int("MALLOC_MMAP_THRESHOLD_", 128 * 1024),
        _M_TRIM_THRESHOLD: _env_int("MALLOC_TRIM_THRESHOLD_", 128 * 1024),
    }
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)
    mallopt(_M_TRIM_THRESHOLD, 4 * _MMAP_THRESHOLD_MAX)
    try:
        yield
    finally:
        for param, value in previous.items():
            mallopt(param, value)


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def _glibc_mallopt() -> Callable[[int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt


def _mp_context() -> multiprocessing.context.BaseContext:
    # forkserver: safe with threads in the parent, cheap after the server starts.
    if not sys.platform.startswith("linux"):
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # Workers fork from the server: import the heavy modules there once, not per worker.
    context.set_forkserver_preload(
        [
            "numpy",
            "scipy.linalg",
            "pandas",
            "bcsc_flow.io.fcs",
            "bcsc_flow.strategy",
            "bcsc_flow.batch_gating",
        ]
    )
    return context


def _load_lazy_blas() -> None:
    """Load scipy's own BLAS (compensation's ``lu_solve`` uses it) before limiting threads.

    threadpoolctl only limits libraries already loaded: scipy ships a second OpenBLAS that
    is loaded on the first ``scipy.linalg`` import, inside the first task, and then ran
    with a thread per core in every worker. With two workers on two cores, four spinning
    BLAS threads made each task ~1.7x slower than alone.
    """
    import scipy.linalg  # noqa: F401


def _one_thread_per_worker() -> None:
    """Worker initializer: one BLAS/OpenMP thread per process, so ``jobs`` workers use
    ``jobs`` cores instead of fighting over them (numpy's and scipy's BLAS would otherwise
    start a thread per core in every worker)."""
    # A BLAS loaded later in this worker process reads these when it starts.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return
    _load_lazy_blas()
    threadpool_limits(1)


def _worker_died(index: int) -> TaskOutcome:
    return TaskOutcome(
        index,
        error_type="WorkerDied",
        message="the worker process died while running this task "
        "(killed, out of memory, or a crash in native code)",
    )


def _run_local(
    func: Callable[[Any], Any],
    tasks: Sequence[Any],
    jobs: int,
    on_done: Callable[[TaskOutcome], None],
) -> dict[int, TaskOutcome]:
    """At most ``jobs`` tasks in flight, so a dying worker implicates only those."""
    done: dict[int, TaskOutcome] = {}
    queue = list(range(len(tasks)))
    suspects: list[int] = []  # in flight when a worker died: each retried alone
    while queue or suspects:
        alone = not queue
        order, width = ([suspects.pop(0)], 1) if alone else (queue, jobs)
        queue = []
        with ProcessPoolExecutor(
            max_workers=width, mp_context=_mp_context(), initializer=_one_thread_per_worker
        ) as pool:
            in_flight: dict[Future[TaskOutcome], int] = {}
            position = 0
            while position < len(order) or in_flight:
                while position < len(order) and len(in_flight) < width:
                    i = order[position]
                    in_flight[pool.submit(_call, func, i, tasks[i])] = i
                    position += 1
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                broken = False
                for fut in finished:
                    i = in_flight.pop(fut)
                    try:
                        done[i] = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        if alone:
                            done[i] = _worker_died(i)
                        else:
                            suspects.append(i)
                            continue
                    except Exception as exc:  # e.g. the task could not be pickled
                        done[i] = TaskOutcome(i, error_type=type(exc).__name__, message=str(exc))
                    on_done(done[i])
                if broken:
                    suspects += in_flight.values()
                    queue = list(order[position:])
                    break
    return done


def _run_dask(
    func: Callable[[Any], Any],
    tasks: Sequence[Any],
    scheduler: Any,
    on_done: Callable[[TaskOutcome], None],
) -> dict[int, TaskOutcome]:
    try:
        from distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BcscFlowError(
            "a Dask scheduler was given but dask.distributed is not installed; "
            "install the extra: pip install 'bcsc_flow[dask]'"
        ) from exc
    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler
    done: dict[int, TaskOutcome] = {}
    try:
        futures = {
            client.submit(
                _call_one_thread, func, i, task, pure=False, key=f"bcsc-task-{i}-{id(tasks)}"
            ): i
            for i, task in enumerate(tasks)
        }
        for fut in as_completed(list(futures)):
            i = futures[fut]
            try:
                outcome = fut.result()
            except Exception as exc:  # KilledWorker, lost connection, ...
                outcome = TaskOutcome(i, error_type=type(exc).__name__, message=str(exc))
            done[i] = outcome
            on_done(outcome)
    finally:
        if own:
            client.close()
    return done


def run_tasks(
    func: Callable[[Any], Any],
    tasks: Sequence[Any],
    *,
    jobs: int = 1,
    scheduler: Any = None,
    on_done: Callable[[TaskOutcome], None] | None = None,
) -> list[TaskOutcome]:
    """Run ``func(task)`` for every task; never raises for a failing task.

    ``jobs=1`` runs in this process; ``jobs>1`` uses that many worker processes;
    ``scheduler`` (a Dask scheduler address or a ``distributed.Client``) runs on that
    cluster instead. ``on_done`` is called in this process as each task finishes (for
    progress bars). ``func`` must be a module-level function for parallel runs.

    Example
    -------
    >>> [o.ok for o in run_tasks(int, ["1", "x"])]
    [True, False]
    """
    notify = on_done or (lambda _outcome: None)
    if scheduler is not None:
        done = _run_dask(func, tasks, scheduler, notify)
    elif jobs <= 1 or len(tasks) <= 1:
        done = {}
        for i, task in enumerate(tasks):
            done[i] = _call(func, i, task)
            notify(done[i])
    else:
        done = _run_local(func, tasks, min(int(jobs), len(tasks)), notify)
    return [done[i] for i in range(len(tasks))]
