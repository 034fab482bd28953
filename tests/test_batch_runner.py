"""The task runner survives failing tasks and dying worker processes, and loses no result."""

from __future__ import annotations

import os
import signal

import pytest

from bcsc_flow.batch_runner import run_tasks
from bcsc_flow.errors import SheetError


def _square_or_fail(task: int) -> int:
    if task == 3:
        raise SheetError("task 3 is broken on purpose")
    if task == 4:
        raise ZeroDivisionError("division by zero")
    return task * task


def _square_or_die(task: int) -> int:
    if task == 5:
        os.kill(os.getpid(), signal.SIGKILL)  # the worker dies mid-batch
    return task * task


@pytest.mark.parametrize("jobs", [1, 2])
def test_failures_are_outcomes_not_exceptions(jobs: int) -> None:
    outcomes = run_tasks(_square_or_fail, list(range(8)), jobs=jobs)
    assert [o.index for o in outcomes] == list(range(8))
    assert [o.value for o in outcomes if o.ok] == [0, 1, 4, 25, 36, 49]
    assert (outcomes[3].error_type, outcomes[3].message) == (
        "SheetError",
        "task 3 is broken on purpose",
    )
    assert outcomes[4].error_type == "ZeroDivisionError"


def test_a_killed_worker_loses_only_its_own_task() -> None:
    seen: list[int] = []
    outcomes = run_tasks(
        _square_or_die, list(range(12)), jobs=2, on_done=lambda o: seen.append(o.index)
    )
    failed = [o for o in outcomes if not o.ok]
    assert [o.index for o in failed] == [5]
    assert failed[0].error_type == "WorkerDied"
    assert [o.value for o in outcomes if o.ok] == [i * i for i in range(12) if i != 5]
    assert sorted(seen) == list(range(12))  # every task reported exactly once


def test_dask_local_cluster_gives_the_same_outcomes() -> None:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        outcomes = run_tasks(_square_or_fail, list(range(8)), scheduler=client)
    local = run_tasks(_square_or_fail, list(range(8)), jobs=1)
    assert [(o.value, o.error_type) for o in outcomes] == [(o.value, o.error_type) for o in local]
