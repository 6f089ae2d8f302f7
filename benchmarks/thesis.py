"""Train the thesis experiments at the book's settings and print one table.

    python benchmarks/thesis.py                 # all experiments
    python benchmarks/thesis.py kinetics-free   # a subset
    python benchmarks/thesis.py --device cuda

Columns: experiment, device, wall time (data + training + evaluation), test
velocity MSE, the thesis MSE and their ratio (below 1 beats the thesis).
"""

from __future__ import annotations

import argparse
import sys

import torch

from ggd_tutorial.book import experiments
from ggd_tutorial.book.registry import EXPERIMENTS

#: The experiments with a thesis value, in the registry's order.
ORDER = [e.name for e in EXPERIMENTS.values() if e.thesis is not None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", default=ORDER, help=f"experiments (default: all of {ORDER})")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: automatic)")
    parser.add_argument("--progress", action="store_true", help="show tqdm progress bars")
    parser.add_argument("--write", action="store_true", help="also write the table to benchmarks/results.md")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in EXPERIMENTS]
    if unknown:
        parser.error(f"unknown experiments {unknown}; choose from {ORDER}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    header = f"| {'experiment':<24} | {'device':<6} | {'wall s':>7} | {'test MSE':>9} | {'thesis':>9} | {'ratio':>7} |"
    rows = [header, "|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|"]
    print(header, flush=True)
    diffusion_extra: dict[str, float] = {}
    for name in args.names:
        r = experiments.run(name, progress=args.progress, device=args.device)
        row = (
            f"| {name:<24} | {r.history.device:<6} | {r.wall_time:7.1f} | {r.test_mse:9.2e} | "
            f"{r.thesis_mse:9.2e} | {r.ratio:7.3f} |"
        )
        rows.append(row)
        print(row, flush=True)
        for k, v in r.extra_tests.items():
            diffusion_extra[k] = v
            print(f"|   diffusion test: {k:<20} MSE {v:.2e}", flush=True)
    print("\n".join(rows))
    if args.write:
        import platform
        from pathlib import Path

        note = (
            f"Measured with `python benchmarks/thesis.py --write` on {platform.machine()}, "
            f"{torch.get_num_threads()} CPU threads, torch {torch.__version__}. "
            "Wall time includes data generation, training and evaluation.\n\n"
        )
        extra = "".join(f"\n- diffusion test family *{k}*: velocity MSE {v:.2e}" for k, v in diffusion_extra.items())
        Path(__file__).with_name("results.md").write_text(note + "\n".join(rows) + "\n" + extra + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
