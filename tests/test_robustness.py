"""The levels and claims the chapters assert are backed by the committed robustness study.

``benchmarks/robustness.jsonl`` holds every run of ``benchmarks/robustness.py`` (seeds x thread
counts); ``benchmarks/robustness.md`` is its report. A level tuned to one lucky run, or a claim
that failed in some run, fails here; so does a level or claim resting on runs made with an
experiment record that no longer hashes the same (``robustness.stale_runs``: stamped runs must
carry the current digest; legacy runs count only while the current digest equals the one on the
experiment's bitwise-verified rows).
"""

import dataclasses
import importlib.util
from pathlib import Path

import pytest

from ggd_tutorial.book import levels, registry
from ggd_tutorial.book import studies as cmp

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


def level_problems(study, runs, key) -> list[str]:
    """Why the runs behind ``key`` do not back it on the current records (empty: they do)."""
    stale = study.stale_runs([r for r in runs if key in r["values"] or key in r["claims"]], key)
    return [f"{key}: stale run {s}" for s in stale]


#: Levels known to rest on runs that the current code does not reproduce exactly, and why; each entry
#: must go once the study is rerun (the test fails when the entry is no longer needed).
KNOWN_STALE = {
    "kinetics-free.S_error": "rerun of seed 0 at 1 thread (benchmarks/bitwise.md): the same trained model (8 of "
    "9 values identical) but S_error 0.0845924329881335 for the committed 0.08459243298813361, which the code "
    "before the experiment registry reproduces; the cause is not found yet. Fix it, or rerun "
    "`python benchmarks/robustness.py run --names kinetics-free`, and remove this entry",
}


@pytest.mark.parametrize("key", sorted(levels.LEVELS))
def test_every_level_keeps_its_margin_from_the_worst_run(study, runs, key):
    level, values = levels.LEVELS[key], values_of(runs, key)
    problems = level_problems(study, runs, key)
    if key in KNOWN_STALE:
        assert problems, f"{key} rests on current runs now: remove it from KNOWN_STALE"
        pytest.xfail(KNOWN_STALE[key])
    assert not problems, "\n".join(problems[:5])
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
def test_every_asserted_claim_held_in_every_run(study, runs, claim):
    assert not level_problems(study, runs, claim), "\n".join(level_problems(study, runs, claim)[:5])
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


def test_every_run_is_stamped_or_marked_legacy(study):
    records = study.load()
    assert all("stamp" in r for r in records), "a run without a stamp (or an explicit null)"
    verified = study.verified_digests(records)
    assert len(verified) >= 8, f"only {len(verified)} parts of the study have bitwise-verified rows"


def test_a_changed_fit_budget_makes_the_runs_of_its_level_stale(study, runs, monkeypatch):
    """Negative control: one more L-BFGS iteration in a record (in memory) and every run behind
    its levels is stale, the bitwise-verified and the legacy ones alike; the others are not."""
    key = "overdamped-1d.test_mse"
    assert not level_problems(study, runs, key)
    record = registry.EXPERIMENTS["overdamped-1d"]
    budget = dataclasses.replace(record.fit, lbfgs_steps=record.fit.lbfgs_steps + 1)
    monkeypatch.setitem(registry.EXPERIMENTS, "overdamped-1d", dataclasses.replace(record, fit=budget))
    problems = level_problems(study, runs, key)
    assert len(problems) == len(values_of(runs, key)), problems
    assert all("stale run thesis overdamped-1d" in p for p in problems)
    assert not level_problems(study, runs, "overdamped-2d.test_mse")
    assert level_problems(study, runs, "structure.overdamped-2d.test_mse") == []  # its own model is unchanged


def test_a_changed_level_makes_its_runs_stale(study, runs, monkeypatch):
    """A bound is part of the record too: loosening it needs the study rerun (or re-verified)."""
    record = registry.EXPERIMENTS["kinetics-prescribed-S-mobility"]
    measures = tuple(
        dataclasses.replace(m, level=dataclasses.replace(m.level, bound=2 * m.level.bound)) if m.level else m
        for m in record.measures
    )
    monkeypatch.setitem(registry.EXPERIMENTS, record.name, dataclasses.replace(record, measures=measures))
    assert level_problems(study, runs, "kinetics-prescribed-S-mobility.test_mse")
