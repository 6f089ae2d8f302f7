"""Robustness study: every number a chapter asserts, over seeds, thread counts and float32.

A trained model depends on round-off (CPU kernels, thread count, BLAS, GPU) and on the seed;
training amplifies the difference. This script re-trains every experiment whose numbers the
book asserts and records each asserted quantity (``ggd_tutorial.book.levels.measure``) and each claim
of the chapter "Why structure matters" (``ggd_tutorial.book.studies.CLAIMS``) per run.

    python benchmarks/robustness.py run               # the whole study (appends to robustness.jsonl)
    python benchmarks/robustness.py run --threads 1   # only part of it, e.g. in two processes
    python benchmarks/robustness.py report            # robustness.jsonl -> robustness.md
    python benchmarks/robustness.py run --workers 2   # the runs as Dask tasks on a LocalCluster
    python benchmarks/robustness.py run --scheduler tcp://HOST:8786   # ... on a running Dask cluster

Runs already in ``robustness.jsonl`` are skipped, so an interrupted study resumes where it
stopped; in this process or on Dask, every run goes through ``benchmarks/_engine.py`` as the same task. The experiments and their seeds are the records of ``ggd_tutorial.book.registry.EXPERIMENTS``.

Every run is written through ``benchmarks/_ledger.py`` with a stamp: the git commit, the package
version and the digest of the experiment record (or study settings) it ran with.
:func:`stale_runs` is what ``tests/test_robustness.py`` applies to every level and claim: a run
counts only if it rests on the current record. A stamped run counts when its digest equals the
record's current :func:`~ggd_tutorial.book.registry.digest`. A legacy run (``"stamp": null``,
written before stamps existed) counts only while the record's digest equals the digest recorded
on the rows of the same experiment that ``benchmarks/bitwise.py`` reran bitwise-identically
(``"stamp": {"experiment": ..., "verified": ..., "differs": [...]}``), and, for one quantity, only
through verified rows that reproduced that quantity (it is not in their ``"differs"``); an
experiment with no verified row has no legacy run that counts. So any change to a record (data, model, budget, seeds, measures or
levels) makes every run of it stale at once, legacy ones included, until the study is rerun. Seeds change the initial weights and the training subsample, never the data; the
thread count changes the floating-point path; float32 is what a GPU user asks for speed.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

from ggd_tutorial.book import experiments as ex
from ggd_tutorial.book import levels, registry
from ggd_tutorial.book import studies as cmp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _engine  # noqa: E402
import _ledger  # noqa: E402

HERE = Path(__file__).resolve().parent
RAW = HERE / "robustness.jsonl"
REPORT = HERE / "robustness.md"
#: (kind, name) -> seeds; every float64 run at each thread count, float32 at seed 0 only.
PLAN = {("thesis", e.name): e.seeds for e in registry.EXPERIMENTS.values()}
PLAN[("structure", "all")] = (0, 1, 2)
PLAN[("noise", "overdamped-2d")] = (0, 1, 2)
PLAN[("own", "heat-exchange")] = (0, 1, 2)
PLAN[("control", "damped-oscillator")] = (0, 1, 2)
PLAN[("bridge", "damped-oscillator")] = (0, 1, 2)
PLAN[("cycle", "reaction-cycle")] = (0, 1, 2)
LABEL = {
    "thesis": "{}",
    "structure": "structure comparison",
    "noise": "noise sweep ({})",
    "own": "{} (fit's defaults)",
    "control": "negative control ({})",
    "bridge": "negative control, single-generator form ({})",
    "cycle": "{}, balanced and driven",
}


def run_one(kind: str, name: str, seed: int, dtype: torch.dtype, **fit_overrides) -> dict:
    """Train one configuration and return the quantities and claims it measured (``fit_overrides``,
    for the experiments only: e.g. a tiny budget in a test)."""
    if kind == "thesis":
        result = ex.run(name, progress=False, seed=seed, dtype=dtype, **fit_overrides)
        fit = {"stop_reason": result.history.stop_reason, "restarts": result.history.restarts_after_nonfinite}
        return {"values": levels.measure(result), "claims": {}, "fit": fit}
    if kind == "own":  # the chapter "Learn your own system": CSV round trip, defaults
        import tempfile

        import ggd_tutorial as g

        trajectories, dt = ex.heat_exchange_trajectories()
        with tempfile.TemporaryDirectory() as tmp:
            g.write_trajectories_csv(Path(tmp) / "data.csv", trajectories, dt, names=["U1", "U2", "U3"])
            data = g.read_trajectories_csv(Path(tmp) / "data.csv", positive=True)
        torch.manual_seed(seed)
        with ex.float64_default():  # as the chapter: initial weights drawn in float64
            model = g.GradientDynamicsModel(data.dim)
        history = g.fit(model, data, seed=seed, progress=False, dtype=dtype)
        return {
            "values": levels.measure_heat_exchange(model, data),
            "claims": {},
            "fit": {"stop_reason": history.stop_reason, "restarts": history.restarts_after_nonfinite},
        }
    if kind == "cycle":  # the kinetics chapter: one GGD model on a balanced and on a driven cycle
        runs = [ex.cycle_experiment(a, seed=seed) for a in ex.CYCLE_AFFINITIES]
        return {"values": levels.measure_cycle(*runs), "claims": {}}
    if kind == "control":
        return {"values": {}, "claims": cmp.claims_held(control=cmp.negative_control(seed=seed))}
    if kind == "bridge":  # the structure chapter's bridge to GENERIC: the control's data, the W-term form
        return {"values": levels.measure_bridge(cmp.single_generator_control(seed=seed)), "claims": {}}
    if kind == "structure":
        results = {s: cmp.compare_on(s, seed=seed) for s in cmp.STUDY}
        return {"values": levels.measure_structure(results), "claims": cmp.claims_held(results=results)}
    rows = cmp.noise_sweep(name, levels=(0.0, 1e-3, 1e-2), estimators=("central", "savgol"), seed=seed)
    return {"values": {}, "claims": cmp.claims_held(noise_rows=rows)}


KEY = ("kind", "name", "seed", "threads", "dtype")


def key(record: dict) -> tuple:
    return _ledger.key(record, KEY)


def plan(threads: list[int], float32: bool) -> list[tuple]:
    out = [(kind, name, seed, t, "float64") for t in threads for (kind, name), seeds in PLAN.items() for seed in seeds]
    if float32 and 2 in threads:
        out += [("thesis", name, 0, 2, "float32") for name in registry.EXPERIMENTS]
    return out


def task(kind: str, name: str, seed: int, threads: int, dtype: str, fit_overrides: dict | None = None) -> dict:
    """One run of the study as an independent task (any process may run it): the record, not yet stamped."""
    torch.set_num_threads(threads)
    torch.set_default_dtype(torch.float64)
    t0 = time.perf_counter()
    out = run_one(kind, name, seed, getattr(torch, dtype), **(fit_overrides or {}))
    return dict(
        kind=kind,
        name=name,
        seed=seed,
        threads=threads,
        dtype=dtype,
        wall_s=round(time.perf_counter() - t0, 1),
        machine=platform.machine(),
        torch=torch.__version__,
        **out,
    )


def stamp_digest(kind: str, name: str, fit_overrides: dict | None = None) -> str:
    """The digest a record is stamped with: its record's, or, with overrides, of the record and them."""
    return _engine.with_overrides(registry.digest(kind, name), fit_overrides)


def line(record: dict) -> str:
    """The line printed for a record as it is written."""
    return (
        f"{record['kind']:9} {record['name']:24} seed {record['seed']} threads {record['threads']} "
        f"{record['dtype']}: {record['wall_s']:6.1f} s"
    )


def run_tasks(
    todo: list[tuple],
    workers: int | None = None,
    scheduler: str | None = None,
    path: Path = RAW,
    fit_overrides: dict | None = None,
) -> int:
    """Run the runs ``todo`` (tuples of :data:`KEY`) not yet in the ledger ``path`` through
    ``benchmarks/_engine.py``: in this process, or with ``workers`` / ``scheduler`` as Dask tasks;
    each record is stamped (with ``fit_overrides`` in its digest) and appended as it arrives.
    Returns the number of runs done."""
    return _engine.run(
        task,
        [(*p, fit_overrides) for p in todo],
        path,
        KEY,
        lambda r: stamp_digest(r["kind"], r["name"], fit_overrides),
        workers,
        scheduler,
        line,
    )


def run(args) -> None:
    done = {key(r) for r in load()}
    todo = [
        p
        for p in plan(args.threads, not args.no_float32)
        if p not in done
        and (not args.only or p[0] in args.only)
        and (not args.names or p[1] in args.names)
        and (args.seeds is None or p[2] in args.seeds)
    ]
    print(f"{len(todo)} runs to do ({len(done)} already in {RAW.name})", flush=True)
    run_tasks(todo, args.workers, args.scheduler)


def load() -> list[dict]:
    """The study's runs, the first of each configuration (two processes may have run the same)."""
    return _ledger.load(RAW, KEY)


def verified_digests(records: list[dict], quantity: str | None = None) -> dict[tuple[str, str], set[str]]:
    """(kind, name) -> the digests recorded on its rows verified bitwise by ``benchmarks/bitwise.py``
    (with ``quantity``: only rows on which that value was reproduced, not listed in ``"differs"``)."""
    out: dict[tuple[str, str], set[str]] = {}
    for r in records:
        stamp = r.get("stamp")
        if stamp and stamp.get("verified") and quantity not in stamp.get("differs", ()):
            out.setdefault((r["kind"], r["name"]), set()).add(stamp["experiment"])
    return out


def stale_runs(records: list[dict], quantity: str | None = None) -> list[str]:
    """The runs that do not rest on the current records (see the module docstring), as
    ``"kind name seed threads dtype: why"``; with ``quantity`` (a level or claim), legacy runs count
    only through verified rows that reproduced that quantity too."""
    current: dict[tuple[str, str], str] = {}
    verified = verified_digests(records, quantity)
    out = []
    for r in records:
        which = (r["kind"], r["name"])
        if which not in current:
            current[which] = registry.digest(*which)
        stamp = r.get("stamp")
        if stamp is None:
            if current[which] not in verified.get(which, set()):
                out.append(f"{' '.join(map(str, key(r)))}: legacy run, no verified row with the current record")
        elif stamp.get("experiment") != current[which]:
            out.append(
                f"{' '.join(map(str, key(r)))}: made with record {stamp.get('experiment')}, now {current[which]}"
            )
    return out


def _fmt(v: float) -> str:
    return f"{v:.2e}" if math.isfinite(v) and v != 0 and (abs(v) < 1e-2 or abs(v) >= 1e3) else f"{v:.3g}"


def report() -> str:
    records = load()
    f64 = [r for r in records if r["dtype"] == "float64"]
    values: dict[str, list[float]] = {}
    for r in f64:
        for k, v in r["values"].items():
            values.setdefault(k, []).append(v)
    claims: dict[str, list[bool]] = {}
    for r in f64:
        for k, v in r["claims"].items():
            claims.setdefault(k, []).append(v)
    wall = sum(r["wall_s"] for r in records)
    lines = [
        "# Robustness study",
        "",
        f"Written by `python benchmarks/robustness.py report` from {len(records)} runs in `robustness.jsonl` "
        f"(`python benchmarks/robustness.py run`; the runs' wall times add up to {wall / 60:.0f} min on a 2-core "
        f"{records[0]['machine'] if records else '?'} CPU, torch {records[0]['torch'] if records else '?'}; the "
        "1-thread runs went two at a time, one per core). "
        "Each float64 run is one seed (initial weights and training subsample) at one torch thread count "
        "(1 or 2); seeds: " + ", ".join(f"{LABEL[kind].format(n)} {len(s)}" for (kind, n), s in PLAN.items()) + ". "
        f"An asserted upper level must be at least {levels.MARGIN:g}x the worst run, a lower level at most the "
        f"worst run / {levels.MARGIN:g} (`tests/test_robustness.py` checks it).",
        "",
        "## Asserted quantities (float64)",
        "",
        "| quantity | runs | min | median | max | asserted level | margin kept |",
        "|---|---|---|---|---|---|---|",
    ]
    for k in sorted(values):
        v = values[k]
        level = levels.LEVELS.get(k)
        if level is None:
            asserted, ok = "not asserted", ""
        else:
            worst = max(v) if level.sense == "<=" else min(v)
            ok = (
                "yes"
                if (
                    level.bound >= levels.MARGIN * worst
                    if level.sense == "<="
                    else level.bound <= worst / levels.MARGIN
                )
                else "**no**"
            )
            asserted = f"{level.sense} {_fmt(level.bound)}"
        lines.append(
            f"| `{k}` | {len(v)} | {_fmt(min(v))} | {_fmt(statistics.median(v))} | {_fmt(max(v))} | {asserted} | {ok} |"
        )
    lines += [
        "",
        "## Thesis levels",
        "",
        "<!-- headline-start -->",
        "| experiment | thesis | median | worst | runs at or below the thesis level | at or below a tenth of it |",
        "|---|---|---|---|---|---|",
    ]
    for exp, thesis in ((e.name, e.thesis) for e in registry.EXPERIMENTS.values() if e.thesis is not None):
        v = values.get(f"{exp}.{registry.EXPERIMENTS[exp].headline}", [])
        if v:
            lines.append(
                f"| {exp} | {thesis:.3e} | {statistics.median(v):.2e} | {max(v):.2e} | "
                f"{sum(x <= thesis for x in v)} of {len(v)} | {sum(x <= thesis / 10 for x in v)} of {len(v)} |"
            )
    lines += [
        "<!-- headline-end -->",
        "",
        "## Claims of the chapter *Why structure matters*",
        "",
        "<!-- claims-start -->",
        "| claim | held in | asserted |",
        "|---|---|---|",
    ]
    for k, held in claims.items():
        lines.append(f"| {k} | {sum(held)} of {len(held)} runs | {'yes' if k in cmp.ASSERTED_CLAIMS else 'no'} |")
    lines += [
        "<!-- claims-end -->",
        "",
        "## float32 (not asserted: what a GPU user asking for speed gets)",
        "",
        "| quantity | float32, seed 0 | float64, same seed and threads |",
        "|---|---|---|",
    ]
    f32 = {(r["kind"], r["name"], r["seed"], r["threads"]): r for r in records if r["dtype"] == "float32"}
    for (kind, name, seed, threads), r in f32.items():  # the float64 run of the same kind (not a noise sweep's)
        ref = next(
            (x for x in f64 if (x["kind"], x["name"], x["seed"], x["threads"]) == (kind, name, seed, threads)), None
        )
        for k, v in r["values"].items():
            lines.append(f"| `{k}` | {_fmt(v)} | {_fmt(ref['values'][k]) if ref else '-'} |")
    lines += [
        "",
        "## Wall time per run (seconds, median over runs)",
        "",
        "| run | threads | median s |",
        "|---|---|---|",
    ]
    times: dict[tuple, list[float]] = {}
    for r in f64:
        times.setdefault((r["kind"], r["name"], r["threads"]), []).append(r["wall_s"])
    for (kind, name, t), v in sorted(times.items()):
        lines.append(f"| {kind} {name} | {t} | {statistics.median(v):.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="train the runs not yet in robustness.jsonl")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--only", nargs="+", choices=sorted({kind for kind, _ in PLAN}), help="only these kinds")
    p.add_argument("--names", nargs="+", help="only these experiments (e.g. diffusion)")
    p.add_argument("--seeds", type=int, nargs="+", help="only these seeds")
    p.add_argument("--no-float32", action="store_true")
    p.add_argument("--workers", type=int, help="run as Dask tasks on a LocalCluster of this many processes")
    p.add_argument("--scheduler", help="run as Dask tasks on the scheduler at this address (tcp://host:8786)")
    sub.add_parser("report", help="write robustness.md from robustness.jsonl")
    args = parser.parse_args(argv)
    torch.set_default_dtype(torch.float64)
    if args.command == "run":
        run(args)
    text = report()
    REPORT.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
