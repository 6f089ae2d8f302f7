"""What limits the kinetics models? One knob at a time, against the tuned setting.

    python benchmarks/kinetics_variants.py run [--seed 0]   # appends to kinetics_variants.jsonl
    python benchmarks/kinetics_variants.py report            # -> kinetics_variants.md
    python benchmarks/kinetics_variants.py run --only kinetics-free:lbfgs_steps=2400 --seeds 0 1 2 --threads 1
                                                             # one variant over seeds (a study of it)

Each variant changes one thing of ``experiments.SETTINGS`` (more L-BFGS iterations, more training
points, a wider network, the quadratic skip terms, a coercive entropy, the ideal-mixing term in
the learned entropy, the stoichiometry as projection, one dissipation channel per reaction or one
joint network, a quadratic dissipation with a learned mobility of ln c per channel (``mobility``); ``subsample=K`` / ``init=K`` keep the training subsample / the initial weights of
seed K whatever the run's seed, which separates the two sources of the spread between seeds) and
reports the test velocity MSE, the wall time, where the model ends (``levels``' equilibrium error:
worst RMS distance to the true equilibrium over the test initial states) and how many of those
relaxations converged. One seed, two threads, each run alone: a
screening, not a study; a variant that looks good needs the robustness study before a chapter
uses it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

import ggd_tutorial as g
from ggd_tutorial import equilibria as eq
from ggd_tutorial.book import experiments as ex
from ggd_tutorial.book.registry import EXPERIMENTS

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _ledger  # noqa: E402

HERE = Path(__file__).resolve().parent
RAW = HERE / "kinetics_variants.jsonl"
REPORT = HERE / "kinetics_variants.md"
VARIANTS = {
    "kinetics-free": [
        "base",
        "lbfgs_steps=2400",
        "max_points=8000",
        "hidden=64x64",
        "quadratic=1",
        "coercive=0.01",
        "nu",
        "mixing",
        "mixing+lbfgs_steps=2400",
        "channels=1",
        "mixing+mobility",
    ],
    "kinetics-prescribed-Xi": [
        "base",
        "lbfgs_steps=6000",
        "max_points=8000",
        "quadratic=1",
        "coercive=0.01",
        "mixing",
        "mixing+lbfgs_steps=1000",
    ],
    "kinetics-prescribed-S": ["base", "channels=0", "channels=0+rank=2", "channels=0+lbfgs_steps=2400", "mobility"],
}
#: Variants also run over seeds and thread counts: the larger budgets and the mixing prior against the
#: thesis / 10, and the both-learned model with the subsample (or the initial weights) of seed 0 fixed.
STUDIED = [
    "kinetics-free:lbfgs_steps=2400",
    "kinetics-prescribed-S:channels=0+lbfgs_steps=2400",
    "kinetics-prescribed-Xi:lbfgs_steps=6000",
    "kinetics-free:mixing",
    "kinetics-free:subsample=0",
    "kinetics-free:init=0",
    "kinetics-free:mixing+mobility",
]


def overrides(variant: str, system) -> tuple[dict, dict]:
    """(model overrides, fit overrides) of a variant such as ``lbfgs_steps=2400``; knobs joined
    by ``+`` combine (``mixing+lbfgs_steps=2400``)."""
    if "+" in variant:
        model, fit = {}, {}
        for knob in variant.split("+"):
            m, f = overrides(knob, system)
            model.update(m)
            fit.update(f)
        return model, fit
    if variant == "base":
        return {}, {}
    if variant == "mixing":  # the ideal-mixing term in the learned entropy
        return {"entropy_mixing": True}, {}
    if variant == "mobility":  # a quadratic Xi with a learned mobility of ln c per channel
        return {"dissipation_mobility": True, "dissipation_log_state": True, "dissipation_channels": False}, {}
    if variant == "nu":
        return {"dissipation_projection": system.nu, "dissipation_rank": None}, {}
    key, value = variant.split("=")
    if key == "channels":  # one dissipation channel per reaction (1) or one joint PICNN (0)
        return {"dissipation_channels": value == "1"}, {}
    if key == "subsample":  # the training subsample of this seed, whatever the run's seed
        return {}, {"seed": int(value)}
    if key == "init":  # the initial weights of this seed, whatever the run's seed
        return {"seed": int(value)}, {}
    if key == "rank":
        return {"dissipation_projection": None, "dissipation_rank": int(value)}, {}
    if key == "coercive":
        return {"entropy_coercive": float(value)}, {}
    if key == "quadratic":
        return {"quadratic": value == "1"}, {}
    if key == "hidden":
        return {"hidden": tuple(int(h) for h in value.split("x"))}, {}
    return {}, {key: int(value)}


def run_one(name: str, variant: str, seed: int) -> dict:
    system, data = ex.kinetics_data()
    model_over, fit_over = overrides(variant, system)
    t0 = time.perf_counter()
    model = ex.build_model(name, system, **{"seed": seed, **model_over})  # init=K overrides the seed
    history = g.fit(model, data, **{**EXPERIMENTS[name].fit.kwargs(), "seed": seed, "progress": False, **fit_over})
    wall = time.perf_counter() - t0
    report = eq.compare_equilibria(model, system, data.test.states[:, 0])
    return dict(
        name=name,
        variant=variant,
        seed=seed,
        threads=torch.get_num_threads(),
        test_mse=float(g.velocity_mse(model, data)),
        wall=round(wall, 1),
        equilibrium_error=float(report.error.max()),
        converged=int(report.model_converged.sum()),
        states=len(report.error),
        stop=history.stop_reason,
    )


def load() -> list[dict]:
    return _ledger.load(RAW)


def variant_digest(name: str, variant: str) -> str:
    """The digest of the record a variant changes, and the variant."""
    return _ledger.digest_of({"experiment": EXPERIMENTS[name].digest(), "variant": variant})


def report() -> str:
    rows = load()
    screening = [r for r in rows if "study" not in r]
    lines = [
        "# Kinetics: one knob at a time",
        "",
        "`python benchmarks/kinetics_variants.py run` then `report`; seed 0, 2 threads, each run alone. "
        "A screening (one seed), not a study.",
        "",
        "<!-- variants-start -->",
        "| experiment | variant | test MSE | vs base | fit time | equilibrium error (worst) | relaxed |",
        "|---|---|---|---|---|---|---|",
    ]
    base = {r["name"]: r["test_mse"] for r in screening if r["variant"] == "base"}
    order = [(name, v) for name, variants in VARIANTS.items() for v in variants]
    screening.sort(
        key=lambda r: order.index((r["name"], r["variant"])) if (r["name"], r["variant"]) in order else len(order)
    )
    for r in screening:
        ratio = r["test_mse"] / base[r["name"]] if r["name"] in base else None
        ratio = "" if ratio is None else f"{ratio:.2f}" if ratio >= 0.05 else f"{ratio:.3f}"
        lines.append(
            f"| {r['name']} | {r['variant']} | {r['test_mse']:.2e} | {ratio} | {r['wall']:.0f} s | "
            f"{r['equilibrium_error']:.1e} | {r['converged']}/{r['states']} |"
        )
    lines += [
        "<!-- variants-end -->",
        "",
        "## Over seeds and thread counts: the larger budgets, the mixing prior, what varies between runs",
        "",
        "`--only EXPERIMENT:VARIANT --seeds ... --threads ...`; the 1-thread runs two at a time.",
        "",
        "<!-- seeds-start -->",
        "| experiment | variant | runs | test MSE best | median | worst | thesis / 10 | runs at or below it | "
        "fit time (median) | equilibrium error (worst) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for item in STUDIED:
        name, variant = item.split(":")
        runs = [r for r in rows if r["name"] == name and r["variant"] == variant and "study" in r]
        if not runs:
            continue
        mse = sorted(r["test_mse"] for r in runs)
        target = EXPERIMENTS[name].thesis / 10
        lines.append(
            f"| {name} | {variant} | {len(runs)} | {mse[0]:.2e} | {statistics.median(mse):.2e} | {mse[-1]:.2e} | "
            f"{target:.2e} | {sum(m <= target for m in mse)} of {len(runs)} | "
            f"{statistics.median(r['wall'] for r in runs):.0f} s | "
            f"{max(r['equilibrium_error'] for r in runs):.1e} |"
        )
    return "\n".join(lines + ["<!-- seeds-end -->"]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["run", "report"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=STUDIED, help="one variant, run over --seeds and --threads")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    if args.command == "run" and args.only:
        name, variant = args.only.split(":")
        for threads in args.threads:
            torch.set_num_threads(threads)
            for seed in args.seeds:
                _ledger.append(RAW, {**run_one(name, variant, seed), "study": True}, variant_digest(name, variant))
    elif args.command == "run":  # the screening: variants not yet run at this seed
        torch.set_num_threads(2)
        done = {(r["name"], r["variant"], r["seed"]) for r in load() if "study" not in r}
        for name, variants in VARIANTS.items():
            for variant in (v for v in variants if (name, v, args.seed) not in done):
                _ledger.append(RAW, run_one(name, variant, args.seed), variant_digest(name, variant))
    REPORT.write_text(report())
    print(REPORT.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
