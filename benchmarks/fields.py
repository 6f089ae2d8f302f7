"""Locality or thermodynamics? Four models of the diffusion field over seeds and thread counts.

    python benchmarks/fields.py run                  # every run of the plan (appends to fields.jsonl)
    python benchmarks/fields.py run --threads 1      # part of it, e.g. two 1-thread processes at once
    python benchmarks/fields.py report               # fields.jsonl -> fields.md (shown in the book)
    python benchmarks/fields.py run --workers 2      # the runs as Dask tasks on a LocalCluster
    python benchmarks/fields.py run --scheduler tcp://HOST:8786   # ... on a running Dask cluster

Each run trains the four models of ``ggd_tutorial.book.studies.FIELD_MODELS`` (dense MLP, stencil
GGD, local GGD, local CNN) on the same diffusion data with one seed (initial weights and training
subsample) at one torch thread count, and records ``comparison.field_comparison``'s measures.
Runs already in ``fields.jsonl`` are skipped, so an interrupted study resumes where it stopped;
each run is one task of ``benchmarks/_engine.py`` (in this process, or on Dask distributed).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

from ggd_tutorial.book import studies as cmp
from ggd_tutorial.book.registry import EXPERIMENTS

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _engine  # noqa: E402
import _ledger  # noqa: E402

HERE = Path(__file__).resolve().parent
RAW = HERE / "fields.jsonl"
REPORT = HERE / "fields.md"
SEEDS = (0, 1, 2)
THREADS = (1, 2)
FAMILIES = ("polynomial", "discontinuous", "gaussian spikes")
#: (column, record key); every cell is "median (worst)" over the runs.
COLUMNS = [(f"test MSE, {f}", f) for f in FAMILIES] + [
    ("MSE vs exact velocity", "exact"),
    ("rollout MSE 1x", "rollout_1x"),
    ("5x", "rollout_5x"),
    ("20x", "rollout_20x"),
    ("rollouts within 1 % of the true state at 20x", "reached"),
    ("relative mass drift, 20x", "mass_drift"),
    ("true dS/dt < 0 away from equilibrium", "violations_away"),
]
SHARES = ("reached", "violations_away")


KEY = ("seed", "threads")


def load() -> list[dict]:
    return _ledger.load(RAW, KEY)


def digest() -> str:
    """The digest of what the comparison trains: the records of its models and the study's threshold."""
    used = ("diffusion", "diffusion-local")
    return _ledger.digest_of(
        {"experiments": {n: EXPERIMENTS[n].digest() for n in used}, "study": cmp.STUDY["diffusion"]}
    )


def task(seed: int, threads: int, fit_overrides: dict | None = None) -> dict:
    """One run of the study as an independent task (any process may run it): the record, not yet
    stamped (``fit_overrides``: every model's budget, e.g. a tiny one in a test)."""
    torch.set_num_threads(threads)
    torch.set_default_dtype(torch.float64)
    t0 = time.perf_counter()
    result = cmp.field_comparison(seed=seed, **(fit_overrides or {}))
    return dict(
        seed=seed,
        threads=threads,
        wall_s=round(time.perf_counter() - t0, 1),
        machine=platform.machine(),
        torch=torch.__version__,
        models=result.record(),
    )


def run_tasks(
    todo: list[tuple],
    workers: int | None = None,
    scheduler: str | None = None,
    path: Path = RAW,
    fit_overrides: dict | None = None,
) -> int:
    """Run the runs ``todo`` ((seed, threads) pairs) not yet in the ledger ``path`` through
    ``benchmarks/_engine.py``: in this process, or with ``workers`` / ``scheduler`` as Dask tasks;
    each record is stamped with :func:`digest` (and ``fit_overrides``). Returns the number of runs done."""
    stamp = _engine.with_overrides(digest(), fit_overrides)
    return _engine.run(
        task,
        [(*p, fit_overrides) for p in todo],
        path,
        KEY,
        lambda r: stamp,
        workers,
        scheduler,
        lambda r: f"seed {r['seed']} threads {r['threads']}: {r['wall_s']:.0f} s",
    )


def run(args) -> None:
    done = {(r["seed"], r["threads"]) for r in load()}
    todo = [(s, t) for t in args.threads for s in args.seeds if (s, t) not in done]
    print(f"{len(todo)} runs to do ({len(done)} already in {RAW.name})", flush=True)
    run_tasks(todo, args.workers, args.scheduler)


def summarize(values: list[float], share: bool, worst_is_max: bool = True) -> str:
    """'median (worst)' over the runs; an error's worst is its largest value, a share of
    rollouts that reached the truth its smallest."""
    med = statistics.median(values)
    worst = max(values) if worst_is_max else min(values)
    fmt = (lambda x: f"{x:.0%}") if share else (lambda x: "inf" if x == float("inf") else f"{x:.1e}")
    return f"{fmt(med)} ({fmt(worst)})"


def table(records: list[dict]) -> list[str]:
    """One row per model: median (worst) over the runs of every measure."""
    header = "| model | parameters | training (s, median) | " + " | ".join(c for c, _ in COLUMNS) + " |"
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for m in cmp.FIELD_MODELS:
        rows = [r["models"][m] for r in records]
        cells = [str(rows[0]["parameters"]), f"{statistics.median(x['train_s'] for x in rows):.0f}"]
        for _, key in COLUMNS:
            cells.append(summarize([float(x[key]) for x in rows], key in SHARES, worst_is_max=key != "reached"))
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def report() -> str:
    records = sorted(load(), key=lambda r: (r["threads"], r["seed"]))
    if not records:
        raise SystemExit(f"no runs in {RAW}; run `python benchmarks/fields.py run` first")
    seeds = sorted({r["seed"] for r in records})
    threads = sorted({r["threads"] for r in records})
    minutes = sum(r["wall_s"] for r in records) / 60
    priors = "\n".join(f"* **{m}**: {p}." for m, p in cmp.FIELD_MODELS.items())
    return "\n".join(
        [
            f"Written by `python benchmarks/fields.py report` from {len(records)} runs in `fields.jsonl` "
            f"(`python benchmarks/fields.py run`: seeds {', '.join(map(str, seeds))} at torch thread counts "
            f"{' and '.join(map(str, threads))}, float64, on {records[0]['machine']}, torch {records[0]['torch']}; "
            f"the runs' wall times add up to {minutes:.0f} min). Each cell: median over the runs, the worst run in "
            "brackets (for the share of rollouts at the true state the smallest, otherwise the largest). "
            "Test MSEs against the central-difference targets of the unseen families; the error against the "
            "exact velocity over the test states of all three families; rollouts from 8 initial states of each "
            "unseen family and of the held-out Fourier data, at 1, 5 and 20 times the data's horizon "
            "(RK4 at the data's step); the second law judged at the test states and along each model's own rollouts. "
            "Training times are medians over all runs, the one-thread runs made two or three at a time on two cores "
            "(`benchmarks/thesis.py` times training alone).",
            "",
            priors,
            "",
            *table(records),
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--threads", type=int, nargs="+", default=list(THREADS))
    r.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    r.add_argument("--workers", type=int, help="run as Dask tasks on a LocalCluster of this many processes")
    r.add_argument("--scheduler", help="run as Dask tasks on the scheduler at this address (tcp://host:8786)")
    sub.add_parser("report")
    args = parser.parse_args(argv)
    if args.command == "run":
        run(args)
    else:
        REPORT.write_text(report())
        print(REPORT.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
