"""Helpers of the concurrency tests (``tests/db/test_*_concurrency.py``).

Not a test module (no ``test_`` functions, and pytest does not collect a
file named like this one).

- :func:`race` releases threads of this process together, so their
  transactions overlap (they share the process's engine);
- :func:`in_processes` does the same with spawned processes, each with
  an engine of its own, as several conductor workers would have;
- :func:`split` sorts the outcomes into wins and expected losses, and
  :func:`count_rows` counts what the race left in a table.

Every wait is bounded, so a hung caller fails its test instead of the run.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from sqlalchemy import func, select

from db.sqlalchemy import _session

#: Seconds a thread may take to start, race and finish.
TIMEOUT = 20
#: Seconds a spawned process may take: it imports everything and
#: connects first, which is slow on a loaded CI machine.
SPAWN_TIMEOUT = 90


def race(
    count: int, work: Callable[[int], Any], timeout: float = TIMEOUT
) -> list:
    """Run ``work(index)`` in ``count`` threads released at once.

    Returns, in index order, what each call returned or the exception it
    raised.  Fails if a thread is still running after ``timeout``.
    """
    barrier = threading.Barrier(count, timeout=timeout)
    outcomes: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = work(index)
        except Exception as exc:  # the test inspects what was raised
            outcomes[index] = exc

    threads = [
        threading.Thread(target=run, args=(i,), daemon=True)
        for i in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "hung"
    return outcomes


def split(
    outcomes: Sequence, error: type | tuple[type, ...] = ()
) -> tuple[list, list]:
    """Return ``(wins, losses)``: the results and the exceptions raised.

    Asserts that every exception is an ``error`` (a class or a tuple of
    them); with the default, no call may have raised at all.
    """
    wins = [o for o in outcomes if not isinstance(o, BaseException)]
    losses = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(o, error) for o in losses), outcomes
    return wins, losses


def count_rows(model, *where) -> int:
    """Count the rows of ``model`` matching ``where``, deleted or not."""
    with _session.reader() as session:
        stmt = select(func.count()).select_from(model).where(*where)
        return session.execute(stmt).scalar_one()


def in_processes(
    target: Callable[..., None],
    arg_lists: Sequence[Sequence[Any]],
    timeout: float = SPAWN_TIMEOUT,
) -> list:
    """Run ``target(*args, barrier, out)`` in a spawned process per entry.

    ``target`` must be importable by the child (a module-level function)
    and should set up its engine and connect first, then wait on the
    shared ``barrier`` (with a timeout) so that the racing work of all
    children overlaps, then put exactly one item on the queue ``out``:
    its result, or a description of what it raised.  Returns the items
    in the order they arrived; fails if a child does not report within
    ``timeout`` or does not exit cleanly after reporting.
    """
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(len(arg_lists))
    out = spawn.Queue()
    procs = [
        spawn.Process(target=target, args=(*args, barrier, out), daemon=True)
        for args in arg_lists
    ]
    for proc in procs:
        proc.start()
    try:
        reports = [out.get(timeout=timeout) for _ in procs]
    except queue.Empty:
        pytest.fail("a child process did not report in time")
    finally:
        for proc in procs:
            proc.join(TIMEOUT)
            if proc.is_alive():
                proc.terminate()
    assert [proc.exitcode for proc in procs] == [0] * len(procs), reports
    return reports
