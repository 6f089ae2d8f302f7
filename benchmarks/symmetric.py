"""What imposing a symmetric dissipation potential, Xi(x, y) = Xi(x, -y), changes.

The true potentials of the book are even in the conjugates (quadratic, cosh): microscopic
reversibility. ``GradientDynamicsModel(..., dissipation_symmetric=True)`` imposes it. This
script trains the experiments with both potentials learned at their tuned settings with the
option on, over the seeds of the robustness study at 2 threads, and sets the test MSE next to
the study's runs without it (same seeds, data and budget).

    python benchmarks/symmetric.py      # writes benchmarks/symmetric.md (about 6 minutes on 2 cores)
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import torch

from ggd_tutorial import fit, metrics
from ggd_tutorial.book.registry import EXPERIMENTS as RECORDS

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _ledger  # noqa: E402

HERE = Path(__file__).resolve().parent
EXPERIMENTS = ("kinetics-free", "overdamped-2d")
SEEDS = (0, 1, 2)


def study_runs() -> dict[tuple[str, int], float]:
    out = {}
    for r in _ledger.load(HERE / "robustness.jsonl", ("kind", "name", "seed", "threads", "dtype")):
        if r["kind"] == "thesis" and r["name"] in EXPERIMENTS and r["threads"] == 2 and r["dtype"] == "float64":
            out.setdefault((r["name"], r["seed"]), r["values"][f"{r['name']}.test_mse"])
    return out


def symmetric_run(name: str, seed: int) -> float:
    """Test MSE of experiment ``name`` trained with a symmetric learned Xi (all else as its record)."""
    record = RECORDS[name]
    system, data, _ = record.data()
    model = record.model.build(system, seed, dissipation_symmetric=True)
    fit(model, data, **record.fit.kwargs(), seed=seed, progress=False)
    return float(metrics.velocity_mse(model, data))


def main() -> int:
    torch.set_num_threads(2)
    reference = study_runs()
    lines = [
        "# Symmetric dissipation potential",
        "",
        "Written by `python benchmarks/symmetric.py` (2 threads). Test velocity MSE with "
        "`dissipation_symmetric=True` and without (the robustness study's runs: same seeds, data, budget).",
        "",
        "| experiment | seed | symmetric Xi | plain Xi | ratio |",
        "|---|---|---|---|---|",
    ]
    ratios = {}
    for name in EXPERIMENTS:
        for seed in SEEDS:
            sym, plain = symmetric_run(name, seed), reference[(name, seed)]
            ratios.setdefault(name, []).append(sym / plain)
            lines.append(f"| {name} | {seed} | {sym:.2e} | {plain:.2e} | {sym / plain:.2f} |")
            print(lines[-1], flush=True)
    lines += [""] + [
        f"Median ratio, {name}: {statistics.median(r):.2f} over {len(r)} seeds." for name, r in ratios.items()
    ]
    (HERE / "symmetric.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
