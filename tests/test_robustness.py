"""The levels and claims the chapters assert are backed by the committed robustness study.

``benchmarks/robustness.jsonl`` holds every run of ``benchmarks/robustness.py`` (seeds x thread
counts); ``benchmarks/robustness.md`` is its report. A level tuned to one lucky run, or a claim
that failed in some run, fails here.
"""

import importlib.util
from pathlib import Path

import pytest

from ggd_tutorial.book import studies as cmp
from ggd_tutorial.book import levels

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("robustness", BENCH / "robustness.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def runs(study):
    return [r for r in study.load() if r["dtype"] == "float64"]


def values_of(runs, key):
    return [r["values"][key] for r in runs if key in r["values"]]


@pytest.mark.parametrize("key", sorted(levels.LEVELS))
def test_every_level_keeps_its_margin_from_the_worst_run(runs, key):
    level, values = levels.LEVELS[key], values_of(runs, key)
    assert len(values) >= 6, f"{key}: only {len(values)} runs in the study"
    assert {r["threads"] for r in runs if key in r["values"]} == {1, 2}, f"{key}: not run at 1 and 2 threads"
    if level.sense == "<=":
        assert level.bound >= levels.MARGIN * max(values), (
            f"{key}: worst run {max(values):.3e}, level {level.bound:.3e}"
        )
    else:
        assert level.bound <= min(values) / levels.MARGIN, (
            f"{key}: worst run {min(values):.3e}, level {level.bound:.3e}"
        )


@pytest.mark.parametrize("claim", cmp.ASSERTED_CLAIMS)
def test_every_asserted_claim_held_in_every_run(runs, claim):
    held = [r["claims"][claim] for r in runs if claim in r["claims"]]
    assert len(held) >= 6, f"{claim}: only {len(held)} runs"
    assert all(held), f"{claim}: held in {sum(held)} of {len(held)} runs only"


def test_level_check_passes_and_fails():
    key = "overdamped-1d.test_mse"
    levels.check(key, levels.LEVELS[key].bound / 2)
    with pytest.raises(AssertionError, match=key):
        levels.check(key, levels.LEVELS[key].bound * 2)
    low = "kinetics-free.S_error"
    with pytest.raises(AssertionError, match=low):
        levels.check(low, levels.LEVELS[low].bound / 2)


def test_the_committed_report_is_the_report_of_the_committed_runs(study):
    assert (BENCH / "robustness.md").read_text() == study.report(), (
        "benchmarks/robustness.md is stale: run `python benchmarks/robustness.py report`"
    )
