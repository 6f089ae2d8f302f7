"""``benchmarks/_engine.py``: the runs of every study as independent tasks, in this process or on Dask.

The robustness, fields and defaults studies hand the engine a task function and its argument
tuples; the engine skips what the ledger has, runs the rest (one after another, or on a Dask
``LocalCluster`` / running scheduler), stamps each record and appends it as it arrives. Tests that
start a cluster are ``slow``; the fields study is not run on one (a tiny budget still rolls its four
models out to 20 horizons), only its task's shipping and its path through the engine are checked.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from ggd_tutorial.book import registry

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
TINY = dict(adam_steps=2, lbfgs_steps=2)
#: Timing fields: the only ones two runs of the same task may differ in.
TIMES = ("wall_s", "fit_s", "train_s")


def _script(name: str, module: str = ""):
    spec = importlib.util.spec_from_file_location(module or f"{name}_engine_test", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def engine():
    return _script("_engine")


@pytest.fixture(scope="module")
def studies():
    return {name: _script(name) for name in ("robustness", "fields", "defaults")}


@pytest.fixture(autouse=True)
def _threads():
    threads = torch.get_num_threads()  # a task sets its own; in this process it would stay set
    yield
    torch.set_num_threads(threads)


def untimed(record: dict) -> dict:
    """``record`` without its timing fields (at any depth)."""
    return {k: untimed(v) if isinstance(v, dict) else v for k, v in record.items() if k not in TIMES}


def fields_of(record: dict) -> list[str]:
    return [k for k in record if k != "stamp"]


def committed(name: str) -> dict:
    """The last committed record of ``benchmarks/<name>.jsonl`` (the newest fields)."""
    return json.loads((BENCH / f"{name}.jsonl").read_text().splitlines()[-1])


# ---------------------------------------------------------------- the engine on plain tasks


def square(n: int, factor: int) -> dict:
    return {"n": n, "value": n * factor}


def fails_on_one(n: int) -> dict:
    if n == 1:
        raise RuntimeError("task 1 failed")
    return {"n": n}


def test_the_sequential_path_skips_what_the_ledger_has_and_stamps_the_rest(engine, tmp_path, capsys):
    path = tmp_path / "runs.jsonl"
    line = lambda r: f"n={r['n']}"
    assert engine.run(square, [(0, 3), (1, 3)], path, ("n",), lambda r: f"d{r['n']}", line=line) == 2
    assert capsys.readouterr().out.split() == ["n=0", "n=1"]
    assert engine.run(square, [(0, 3), (1, 3)], path, ("n",), lambda r: "other", line=line) == 0  # resumable
    assert engine.run(square, [(0, 3), (1, 3), (2, 3)], path, ("n",), lambda r: f"d{r['n']}") == 1
    records = engine._ledger.load(path)
    assert [(r["n"], r["value"], r["stamp"]["experiment"]) for r in records] == [
        (0, 0, "d0"),
        (1, 3, "d1"),
        (2, 6, "d2"),
    ]
    assert all(r["stamp"]["commit"] == engine._ledger.commit() for r in records)


def test_a_record_written_meanwhile_by_another_process_is_not_written_again(engine, tmp_path):
    path = tmp_path / "runs.jsonl"

    def raced(n: int) -> dict:
        engine._ledger.append(path, {"n": n, "by": "other"}, "other")
        return {"n": n, "by": "this"}

    assert engine.run(raced, [(0,)], path, ("n",), lambda r: "this") == 0
    assert [r["by"] for r in engine._ledger.load(path)] == ["other"]


def test_an_error_in_a_task_reaches_the_caller_in_process(engine, tmp_path):
    with pytest.raises(RuntimeError, match="task 1 failed"):
        engine.run(fails_on_one, [(0,), (1,)], tmp_path / "runs.jsonl", ("n",), lambda r: "d")
    assert [r["n"] for r in engine._ledger.load(tmp_path / "runs.jsonl")] == [0]  # kept: a rerun resumes
    with pytest.raises(ValueError, match="at least 1"):
        engine.run(square, [(0, 1)], tmp_path / "runs.jsonl", ("n",), lambda r: "d", workers=0)


def test_overrides_give_another_stamp_digest(engine, studies):
    real = registry.digest("thesis", "overdamped-1d")
    assert engine.with_overrides(real, None) == engine.with_overrides(real, {}) == real
    assert engine.with_overrides(real, TINY) != real
    assert studies["robustness"].stamp_digest("thesis", "overdamped-1d", TINY) == engine.with_overrides(real, TINY)


def test_every_study_task_needs_only_the_package_on_a_worker(engine, studies, monkeypatch):
    """The task of each script, pickled as the engine submits it, loads in a fresh process that has
    ggd_tutorial but not the benchmarks folder; without shipping by value it does not (negative
    control: the script imported under a module name would be pickled by reference)."""
    import cloudpickle

    blobs = []
    for study in studies.values():
        monkeypatch.setitem(sys.modules, study.__name__, study)  # as `import robustness` would
        engine.ship(study.task)
        blobs.append(cloudpickle.dumps(study.task))
    bare = _script("defaults", "defaults_unshipped")
    monkeypatch.setitem(sys.modules, bare.__name__, bare)
    unshipped = cloudpickle.dumps(bare.task)
    for study in studies.values():
        cloudpickle.unregister_pickle_by_value(study)
    probe = (
        "import pickle, sys; tasks = [pickle.loads(b) for b in pickle.load(sys.stdin.buffer)]; "
        "assert [t.__name__ for t in tasks] == ['task'] * len(tasks); "
        "assert not {'_ledger', '_engine'} & set(sys.modules), sorted(sys.modules)"
    )
    for payload, ok in ((blobs, True), ([unshipped], False)):
        out = subprocess.run(
            [sys.executable, "-c", probe], input=cloudpickle.dumps(payload), cwd=ROOT, capture_output=True
        )
        assert (out.returncode == 0) is ok, out.stderr.decode()[-2000:]
        if not ok:
            assert b"No module named 'defaults_unshipped'" in out.stderr


def test_the_fields_study_goes_through_the_engine_with_todays_record_fields(engine, studies, tmp_path, monkeypatch):
    """The fields task with the comparison replaced by a stub (a real tiny run takes a minute):
    the record has the committed records' fields, the stamp carries the overrides, resumable."""
    fields = studies["fields"]
    calls = []

    def comparison(seed, **overrides):
        calls.append((seed, overrides))
        return SimpleNamespace(record=lambda: {"stub": {"seed": seed}})

    monkeypatch.setattr(fields, "cmp", SimpleNamespace(field_comparison=comparison, STUDY=fields.cmp.STUDY))
    path = tmp_path / "fields.jsonl"
    assert fields.run_tasks([(0, 1), (1, 1)], path=path, fit_overrides=TINY) == 2
    assert calls == [(0, TINY), (1, TINY)]
    records = engine._ledger.load(path)
    assert [fields_of(r) for r in records] == [fields_of(committed("fields"))] * 2
    assert {r["stamp"]["experiment"] for r in records} == {engine.with_overrides(fields.digest(), TINY)}
    assert engine.with_overrides(fields.digest(), TINY) != fields.digest()
    assert fields.run_tasks([(0, 1), (1, 1)], path=path, fit_overrides=TINY) == 0


# ---------------------------------------------------------------- on Dask distributed


def tiny_study(engine, study, todo, tmp_path, **where) -> list[dict]:
    """Run ``todo`` at the tiny budget on Dask (``where``: workers or scheduler) and in this
    process; the records agree but for timings, carry the overrides' digest and the fields of the
    committed records; a second submission does nothing. Returns the Dask run's records."""
    path, here = tmp_path / "dask.jsonl", tmp_path / "here.jsonl"
    assert study.run_tasks(todo, path=path, fit_overrides=TINY, **where) == len(todo)
    assert study.run_tasks(todo, path=here, fit_overrides=TINY) == len(todo)
    order = lambda r: engine._ledger.key(r, study.KEY)
    records = sorted(engine._ledger.load(path), key=order)
    assert sorted(engine._ledger.key(r, study.KEY) for r in records) == sorted(todo)
    assert [untimed(r) for r in records] == [untimed(r) for r in sorted(engine._ledger.load(here), key=order)]
    assert study.run_tasks(todo, path=path, fit_overrides=TINY, **where) == 0
    return records


@pytest.mark.slow
def test_a_tiny_robustness_study_runs_as_dask_tasks_on_a_local_cluster(engine, studies, tmp_path):
    """The path of ``robustness.py run --workers 2``: two runs of overdamped-1d at a tiny budget on
    a LocalCluster of two processes give the in-process values, stamped with record and overrides."""
    study = studies["robustness"]
    todo = [("thesis", "overdamped-1d", seed, 1, "float64") for seed in (0, 1)]
    records = tiny_study(engine, study, todo, tmp_path, workers=2)
    digest = study.stamp_digest("thesis", "overdamped-1d", TINY)
    assert digest != registry.digest("thesis", "overdamped-1d")
    assert all(r["stamp"]["experiment"] == digest for r in records)
    thesis = next(r for r in study.load() if r["kind"] == "thesis")
    assert [fields_of(r) for r in records] == [fields_of(thesis)] * 2


@pytest.mark.slow
def test_a_tiny_defaults_study_runs_as_dask_tasks_on_a_running_scheduler(engine, studies, tmp_path):
    """The path of ``defaults.py run --scheduler ADDR``: a cluster started outside the engine."""
    from distributed import LocalCluster

    study = studies["defaults"]
    todo = [("overdamped-1d", seed, 1) for seed in (0, 1)]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        records = tiny_study(engine, study, todo, tmp_path, scheduler=cluster.scheduler_address)
    digest = engine.with_overrides(study.digest("overdamped-1d"), TINY)
    assert digest != study.digest("overdamped-1d")
    assert all(r["stamp"]["experiment"] == digest for r in records)
    assert [fields_of(r) for r in records] == [fields_of(committed("defaults"))] * 2


@pytest.mark.slow
def test_an_error_in_a_dask_task_reaches_the_caller_and_the_cluster_is_closed(engine, tmp_path, monkeypatch):
    """Negative control: a failing task's error is raised by ``run``, and the LocalCluster that the
    engine started is closed; nothing of the failed run is written."""
    import distributed
    from distributed.core import Status

    started = []

    class Recorded(distributed.LocalCluster):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(distributed, "LocalCluster", Recorded)
    path = tmp_path / "runs.jsonl"
    with pytest.raises(RuntimeError, match="task 1 failed"):
        engine.run(fails_on_one, [(1,), (0,)], path, ("n",), lambda r: "d", workers=2)
    assert len(started) == 1 and started[0].status == Status.closed
    assert all(r["n"] == 0 for r in engine._ledger.load(path))
