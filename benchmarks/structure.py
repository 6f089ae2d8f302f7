"""Noise robustness and data efficiency of GGD vs a parameter-matched MLP on all three systems.

    python benchmarks/structure.py            # print the tables
    python benchmarks/structure.py --write    # also write benchmarks/structure.md (shown in the book)
    python benchmarks/structure.py kinetics   # one system

Test MSE is measured against the exact vector field at clean held-out states; the noise
(relative to the RMS of the data) is added to the training trajectories only. Budgets are
those of ``ggd_tutorial.book.studies.STUDY``, the same for both models.

With ``--write`` every row is also appended to ``structure.jsonl`` through ``benchmarks/_ledger.py``
(stamped with commit, version and the digest of the study setting); the rows of systems not rerun
are read back from there (or, for a table written before the ledger, from ``structure.md``).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

from ggd_tutorial.book import registry
from ggd_tutorial.book import studies as cmp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _ledger  # noqa: E402

RAW = Path(__file__).resolve().parent / "structure.jsonl"

LEVELS = (0.0, 1e-4, 1e-3, 1e-2)
ESTIMATORS = ("central", "savgol", "rollout")  # the rollout loss costs ~4 x window per point
SIZES = (4, 16, 64)


def by_model(rows: list[dict], key: tuple[str, ...]) -> dict[tuple, dict[str, float]]:
    """{(values of ``key``): {model: mse}}, in the order the rows came."""
    out: dict[tuple, dict[str, float]] = {}
    for r in rows:
        out.setdefault(tuple(r[k] for k in key), {})[r["model"]] = r["mse"]
    return out


def noise_table(rows: list[dict]) -> list[str]:
    lines = ["| system | noise | estimator | GGD MSE | MLP MSE |", "|---|---|---|---|---|"]
    for (system, level, estimator), mse in by_model(rows, ("system", "noise", "estimator")).items():
        lines.append(f"| {system} | {level:g} | {estimator} | {mse['GGD']:.2e} | {mse['MLP']:.2e} |")
    return lines


def data_table(rows: list[dict]) -> list[str]:
    lines = ["| system | training trajectories | GGD MSE | MLP MSE |", "|---|---|---|---|"]
    for (system, n), mse in by_model(rows, ("system", "trajectories")).items():
        lines.append(f"| {system} | {n} | {mse['GGD']:.2e} | {mse['MLP']:.2e} |")
    return lines


def committed_rows(path: Path, keep: set[str]) -> tuple[list[dict], list[dict], str]:
    """The noise and data-size rows of ``keep``'s systems in the ledger (or, before it existed, in the
    committed table), and the table's first line."""
    ledger = [r for r in _ledger.load(RAW) if r["system"] in keep]
    if ledger:
        strip = ("sweep", "stamp")
        noise = [{k: v for k, v in r.items() if k not in strip} for r in ledger if r["sweep"] == "noise"]
        sizes = [{k: v for k, v in r.items() if k not in strip} for r in ledger if r["sweep"] == "data"]
        first = path.read_text().splitlines()[0] if path.exists() else ""
        return noise, sizes, first
    if not path.exists():
        return [], [], ""
    noise, sizes = [], []
    lines = path.read_text().splitlines()
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or cells[0] not in keep:
            continue
        if len(cells) == 5:
            noise += [
                dict(system=cells[0], noise=float(cells[1]), estimator=cells[2], model=m, mse=float(v))
                for m, v in zip(("GGD", "MLP"), cells[3:])
            ]
        elif len(cells) == 4:
            sizes += [
                dict(system=cells[0], trajectories=int(cells[1]), model=m, mse=float(v))
                for m, v in zip(("GGD", "MLP"), cells[2:])
            ]
    return noise, sizes, lines[0] if lines else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("systems", nargs="*", default=list(cmp.STUDY), help=f"from {list(cmp.STUDY)}")
    parser.add_argument("--write", action="store_true", help="write benchmarks/structure.md")
    args = parser.parse_args(argv)
    unknown = [s for s in args.systems if s not in cmp.STUDY]
    if unknown:
        parser.error(f"unknown systems {unknown}; choose from {list(cmp.STUDY)}")
    torch.set_default_dtype(torch.float64)
    t0 = time.perf_counter()
    table = Path(__file__).parent / "structure.md"
    kept = [s for s in cmp.STUDY if s not in args.systems]
    noise, sizes, earlier = committed_rows(table, set(kept)) if args.write else ([], [], "")
    for done, name in enumerate(args.systems, 1):
        new_noise, new_sizes = cmp.noise_sweep(name, LEVELS, ESTIMATORS), cmp.data_sweep(name, SIZES)
        noise, sizes = noise + new_noise, sizes + new_sizes
        if args.write:
            for sweep, rows in (("noise", new_noise), ("data", new_sizes)):
                for row in rows:
                    _ledger.append(RAW, {"sweep": sweep, **row}, registry.digest("noise", name))
        wall = time.perf_counter() - t0
        provenance = f" Rows of {', '.join(kept)} kept from the committed table: {earlier}" if kept and earlier else ""
        text = "\n".join(
            [
                f"Measured with `python benchmarks/structure.py {' '.join(args.systems) + ' ' if kept else ''}--write` "
                f"on {platform.machine()}, {torch.get_num_threads()} CPU threads, torch {torch.__version__}, in "
                f"{wall / 60:.0f} min"
                + ("" if done == len(args.systems) else f" (systems so far: {', '.join(args.systems[:done])})")
                + ". Test velocity MSE against the exact vector field on clean held-out trajectories."
                + provenance,
                "",
                "**Noise robustness** (relative Gaussian noise on the training trajectories):",
                "",
                *noise_table(noise),
                "",
                "**Data efficiency** (clean data, first *n* training trajectories):",
                "",
                *data_table(sizes),
                "",
            ]
        )
        print(text, flush=True)
        if args.write:  # after every system, so that an interrupted run keeps what it measured
            table.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
