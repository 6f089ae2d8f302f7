"""One engine for the studies: each run an independent task, in this process or on Dask distributed.

A study (``robustness.py``, ``fields.py``, ``defaults.py``) is a task function and a list of its
argument tuples; each tuple begins with the values of the ledger's key fields (``("kind", "name",
"seed", "threads", "dtype")`` for the robustness study), so a run already in the ledger is
skipped before it is submitted and the study resumes where it stopped. The task returns the record,
not yet stamped; the submitting process stamps it (:func:`_ledger.append`) and appends it as it
arrives, unless another process of the study wrote the same key meanwhile.

:func:`run` runs the tasks one after another in this process, or, with ``workers`` or
``scheduler``, submits them to Dask distributed: a ``LocalCluster`` of ``workers`` one-thread
processes, or the running scheduler at ``scheduler`` (``tcp://HOST:8786``). The task's module, a
script that the workers do not have, is sent by value with cloudpickle, so a worker needs only
``ggd_tutorial`` (and its dependencies) installed. Each task sets its own torch thread count and
default dtype: a Dask worker is a reused process.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _ledger  # noqa: E402


def with_overrides(digest: str, overrides: dict | None) -> str:
    """The stamp digest of a run made with ``overrides`` (a tiny budget in a test).

    Parameters
    ----------
    digest:
        The digest of the record or study settings the run used.
    overrides:
        Settings that changed the run (``None`` or empty: none).

    Returns
    -------
    str
        ``digest`` itself without overrides, otherwise the digest of both: a run with overrides
        never carries the digest of a real run.
    """
    return _ledger.digest_of({"experiment": digest, "overrides": overrides}) if overrides else digest


def pending(todo: Sequence[tuple], path: Path, fields: Sequence[str]) -> list[tuple]:
    """The argument tuples of ``todo`` whose runs are not in the ledger ``path`` yet.

    Parameters
    ----------
    todo:
        Argument tuples of the task; each begins with the values of ``fields``.
    path:
        The ledger (JSONL; none yet: every run is pending).
    fields:
        The ledger's key fields.

    Returns
    -------
    list of tuple
        The tuples of ``todo`` (in order) whose key is not in the ledger.
    """
    done = {_ledger.key(r, fields) for r in _ledger.load(path, fields)}
    return [args for args in todo if tuple(args[: len(fields)]) not in done]


def ship(task: Callable) -> None:
    """Send the module of ``task`` to the workers by value, if it is a script or test module.

    A module that belongs to no package (a benchmark script loaded by path or by name, a test
    module) is not installed on the workers; cloudpickle then pickles its functions with their
    code. ``__main__`` and modules missing from ``sys.modules`` are pickled by value anyway;
    a package's modules (``ggd_tutorial.*``) are imported on the workers.

    Parameters
    ----------
    task:
        The task function to submit.
    """
    import cloudpickle

    module = sys.modules.get(task.__module__)
    if module is not None and module.__name__ != "__main__" and not module.__package__:
        cloudpickle.register_pickle_by_value(module)


def _write(
    record: dict,
    path: Path,
    fields: Sequence[str],
    digest: Callable[[dict], str],
    line: Callable[[dict], str] | None,
) -> int:
    """Append ``record`` stamped with ``digest(record)`` unless its key is in the ledger already
    (written meanwhile by another process of the study); print ``line(record)``. Returns 1 if
    written, else 0."""
    if _ledger.key(record, fields) in {_ledger.key(r, fields) for r in _ledger.load(path, fields)}:
        return 0
    _ledger.append(path, record, digest(record))
    if line is not None:
        print(line(record), flush=True)
    return 1


def run_sequential(
    task: Callable[..., dict],
    todo: Sequence[tuple],
    path: Path,
    fields: Sequence[str],
    digest: Callable[[dict], str],
    line: Callable[[dict], str] | None = None,
) -> int:
    """Run the pending tasks one after another in this process (see :func:`run`).

    Returns
    -------
    int
        The number of records written.
    """
    count = 0
    for args in pending(todo, path, fields):
        if not pending([args], path, fields):
            continue  # done meanwhile by another process of the study
        count += _write(task(*args), path, fields, digest, line)
    return count


def run_distributed(
    task: Callable[..., dict],
    todo: Sequence[tuple],
    path: Path,
    fields: Sequence[str],
    digest: Callable[[dict], str],
    workers: int = 2,
    scheduler: str | None = None,
    line: Callable[[dict], str] | None = None,
) -> int:
    """Submit the pending tasks to Dask distributed and write each record as it arrives (see :func:`run`).

    Returns
    -------
    int
        The number of records written.

    Raises
    ------
    Exception
        The first error raised inside a task, after the client and the cluster it started are closed.
    """
    from distributed import Client, LocalCluster, as_completed

    todo = pending(todo, path, fields)
    if not todo:
        return 0
    ship(task)
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    count = 0
    try:
        with Client(scheduler or cluster) as client:
            futures = [client.submit(task, *args, pure=False) for args in todo]
            for future in as_completed(futures):
                count += _write(future.result(), path, fields, digest, line)
    finally:
        if cluster is not None:
            cluster.close()
    return count


def run(
    task: Callable[..., dict],
    todo: Sequence[tuple],
    path: Path,
    fields: Sequence[str],
    digest: Callable[[dict], str],
    workers: int | None = None,
    scheduler: str | None = None,
    line: Callable[[dict], str] | None = None,
) -> int:
    """Run every task of ``todo`` not yet in the ledger and append each record, stamped.

    Parameters
    ----------
    task:
        Returns the record of one run (with the key ``fields``), not yet stamped, for one argument
        tuple. It must set everything a reused process could carry over (torch thread count,
        default dtype, seeds).
    todo:
        The argument tuples; each begins with the values of ``fields``.
    path:
        The ledger the records are appended to (``benchmarks/_ledger.py``).
    fields:
        The ledger's key fields: a run whose key is in the ledger is skipped.
    digest:
        The stamp digest of a record (what the run rested on: ``registry.digest``, with
        :func:`with_overrides` for a run with overrides).
    workers:
        Run as Dask tasks on a ``LocalCluster`` of this many one-thread processes.
    scheduler:
        Run as Dask tasks on the running scheduler at this address (``tcp://HOST:8786``); ``workers`` is
        then ignored. With neither, the tasks run one after another in this process.
    line:
        The line printed for each record written.

    Returns
    -------
    int
        The number of records written (0: the ledger had every run).

    Raises
    ------
    ValueError
        If ``workers`` is below 1.
    Exception
        Whatever a task raises; on Dask, after the client and the cluster it started are closed.
        The records written before stay in the ledger.
    """
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    if workers is None and scheduler is None:
        return run_sequential(task, todo, path, fields, digest, line)
    return run_distributed(task, todo, path, fields, digest, workers or 2, scheduler, line)
