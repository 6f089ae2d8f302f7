"""The study behind the chapter "Reversible and irreversible: GENERIC": every model of
``ggd_tutorial.book.generic`` retrained over seeds and torch thread counts, and every quantity the
chapter prints or asserts (``ggd_tutorial.book.generic.measure``, the function the chapter calls).

    python benchmarks/generic.py run                      # seeds 0-4 at 1 and 2 threads (appends to generic.jsonl)
    python benchmarks/generic.py run --threads 1 --seeds 0 1
    python benchmarks/generic.py report                   # generic.jsonl -> generic.md

Runs already in ``generic.jsonl`` are skipped, so an interrupted study resumes. Seeds change the initial
weights and the training subsample, never the data; the thread count changes the floating-point path.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import subprocess
import time
from pathlib import Path

import torch

from ggd_tutorial.book import generic as gb

HERE = Path(__file__).resolve().parent
RAW = HERE / "generic.jsonl"
REPORT = HERE / "generic.md"
SEEDS = (0, 1, 2, 3, 4)
THREADS = (1, 2)
#: Quantities where smaller is better (the wins are counted on these), with their descriptions.
RANKED = {
    "relative_mse": "test MSE against the exact field / mean square velocity",
    "final_distance": "worst RMS distance of the end of the 5x-horizon RK4 rollout from the true rest state",
    "true_energy_drift": "largest relative change of the true energy along the RK4 rollouts",
    "spectrum_error": "distance of the rest-point eigenvalue with the largest imaginary part from the true one",
}
OTHER = {
    "energy_drift_dg": "learned energy, discrete-gradient rollouts: largest change / spread over the initial states",
    "energy_drift_rk4": "learned energy, RK4 rollouts: largest change / spread",
    "entropy_decrease_dg": "learned entropy, discrete gradient: largest decrease per step / spread (< 0: rose)",
    "entropy_decrease_rk4": "learned entropy, RK4: largest decrease per step / spread (< 0: rose at every step)",
    "imaginary": "largest imaginary part of the spectrum at the model's rest point",
    "rest_residual": "largest |velocity| at the rest point found by Newton",
    "parameters": "trainable parameters",
}


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def load() -> list[dict]:
    """The recorded runs, the first of each (seed, threads)."""
    if not RAW.exists():
        return []
    seen, out = set(), []
    for line in RAW.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            if (r["seed"], r["threads"]) not in seen:
                seen.add((r["seed"], r["threads"]))
                out.append(r)
    return out


def run(seeds, threads) -> None:
    done = {(r["seed"], r["threads"]) for r in load()}
    todo = [(s, t) for t in threads for s in seeds if (s, t) not in done]
    print(f"{len(todo)} runs to do ({len(done)} already in {RAW.name})", flush=True)
    for seed, n in todo:
        if (seed, n) in {(r["seed"], r["threads"]) for r in load()}:
            continue  # done meanwhile by another process of the study
        torch.set_num_threads(n)
        t0 = time.perf_counter()
        values, extras = gb.run(seed)
        record = dict(
            seed=seed,
            threads=n,
            wall_s=round(time.perf_counter() - t0, 1),
            torch=torch.__version__,
            machine=platform.machine(),
            commit=_commit(),
            fit={k: {"stop_reason": h.stop_reason, "final_loss": h.final_loss} for k, h in extras["histories"].items()},
            values={k: (v if math.isfinite(v) else str(v)) for k, v in values.items()},
        )
        with RAW.open("a") as f:
            f.write(json.dumps(record) + "\n")
        print(f"seed {seed} threads {n}: {record['wall_s']:.1f} s", flush=True)


def _value(v) -> float:
    return float(v)  # "inf" / "nan" were stored as strings


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    return f"{v:.2e}" if v != 0 and (abs(v) < 1e-2 or abs(v) >= 1e3) else f"{v:.3g}"


def wins(records: list[dict], quantity: str) -> dict[str, int]:
    """In how many runs each model has the smallest ``quantity`` among the models that have it."""
    out = {m: 0 for m in gb.MODELS}
    for r in records:
        have = {m: _value(r["values"][f"{m}.{quantity}"]) for m in gb.MODELS if f"{m}.{quantity}" in r["values"]}
        have = {m: v for m, v in have.items() if math.isfinite(v)}
        if have:
            out[min(have, key=have.get)] += 1
    return out


def report() -> str:
    records = load()
    if not records:
        raise SystemExit(f"no runs in {RAW}")
    values: dict[str, list[float]] = {}
    for r in records:
        for k, v in r["values"].items():
            values.setdefault(k, []).append(_value(v))
    wall = [r["wall_s"] for r in records]
    lines = [
        "# GENERIC study: the oscillator with a heat bath",
        "",
        f"Written by `python benchmarks/generic.py report` from {len(records)} runs in `generic.jsonl` "
        f"(seeds {sorted({r['seed'] for r in records})} at {sorted({r['threads'] for r in records})} torch threads; "
        f"torch {records[0]['torch']}, {records[0]['machine']}, commit {records[0]['commit']}; "
        f"{min(wall):.0f}-{max(wall):.0f} s per run on a shared 2-core CPU). Every model is trained on the same "
        "data with the same budget and seed (`ggd_tutorial.book.generic`); each quantity is computed by "
        "`ggd_tutorial.book.generic.measure`, which the chapter calls too. An asserted upper level is at least "
        "twice the worst run, a lower level at most half of it.",
        "",
        "## Wins: in how many runs each model has the smallest value",
        "",
        "<!-- wins-start -->",
        "| quantity | " + " | ".join(gb.MODELS) + " |",
        "|---|" + "---|" * len(gb.MODELS),
    ]
    for q, what in RANKED.items():
        w = wins(records, q)
        lines.append(f"| {q} ({what}) | " + " | ".join(f"{w[m]} of {len(records)}" for m in gb.MODELS) + " |")
    lines += [
        "",
        "Every quantity, min / median / max over the runs:",
        "",
        "| quantity | " + " | ".join(gb.MODELS) + " |",
        "|---|" + "---|" * len(gb.MODELS),
    ]
    for q, what in {**RANKED, **OTHER}.items():
        cells = []
        for m in gb.MODELS:
            v = values.get(f"{m}.{q}")
            cells.append(f"{_fmt(min(v))} / {_fmt(statistics.median(v))} / {_fmt(max(v))}" if v else "-")
        lines.append(f"| {q} ({what}) | " + " | ".join(cells) + " |")
    truth = {k: v for k, v in values.items() if k.startswith("truth.")}
    lines += ["", "True rest-point spectrum: " + ", ".join(f"{k} = {_fmt(v[0])}" for k, v in truth.items()), ""]
    lines += ["<!-- wins-end -->", ""]
    lines += [
        "## Asserted levels",
        "",
        "| quantity | runs | worst | asserted level | margin kept |",
        "|---|---|---|---|---|",
    ]
    for k, level in gb.LEVELS.items():
        v = values.get(k)
        if not v:
            lines.append(f"| `{k}` | 0 | - | {level.sense} {_fmt(level.bound)} | **not measured** |")
            continue
        worst = max(v) if level.sense == "<=" else min(v)
        ok = level.bound >= 2 * worst if level.sense == "<=" else level.bound <= worst / 2
        lines.append(
            f"| `{k}` | {len(v)} | {_fmt(worst)} | {level.sense} {_fmt(level.bound)} | {'yes' if ok else '**no**'} |"
        )
    text = "\n".join(lines) + "\n"
    REPORT.write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="train and measure; append to generic.jsonl")
    r.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    r.add_argument("--threads", type=int, nargs="+", default=list(THREADS))
    sub.add_parser("report", help="generic.jsonl -> generic.md")
    args = parser.parse_args()
    if args.command == "run":
        run(args.seeds, args.threads)
    else:
        print(report())


if __name__ == "__main__":
    main()
