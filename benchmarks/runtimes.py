"""Chapter runtimes of a book build, read from its execution cache, next to the earlier measurements.

    rm -rf _build && python tools/build_book.py --jobs 1   # one chapter at a time, at 2 threads
    python benchmarks/runtimes.py [--build _build] [--suite S] [--ci S] [--serial-build S] [--parallel-build S]

The build keeps each executed notebook with its execution time in ``_build/.jupyter_cache``; this
script reads those times and writes ``benchmarks/runtimes.md``: seconds per chapter at the machine's
thread count (what a reader waits for one chapter), the earlier values (0.1.0, measured on the same
kind of 2-core machine from a fresh clone) and, when given, the wall times of the steps: ``.ci/run``,
the book build one chapter at a time (``--jobs 1``) and two at a time at one thread each (the
default of ``tools/build_book.py``, as in CI), and the test step. Time a build alone: two torch jobs
on two cores slow each other several times over.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Seconds per chapter in the book builds of earlier releases (fresh clone, 2 threads), and their totals.
BEFORE = {
    "0.1.0": {
        "kinetics": 185,
        "diffusion": 183,
        "structure": 93,
        "kinetics_priors": 90,
        "overdamped": 65,
        "own_system": 30,
    },
    "0.2.0": {
        "kinetics": 164,
        "diffusion": 157,
        "structure": 102,
        "kinetics_priors": 63,
        "generic": 52,
        "overdamped": 40,
        "own_system": 34,
        "gradient_dynamics": 5,
        "icnn": 4,
        "intro": 2,
        "summary": 1,
    },
    # The book of release 0.2.0 built again on the morning of 2026-12-02, on the machine of the "before"
    # column (structure by nbconvert, its build record lost): machines of one kind differ from day to day.
    "0.2.0, a.m.": {
        "kinetics": 340,
        "diffusion": 245,
        "structure": 194,
        "kinetics_priors": 135,
        "generic": 91,
        "overdamped": 68,
        "own_system": 62,
        "gradient_dynamics": 10,
        "icnn": 6,
        "intro": 4,
    },
    # This book before tools/build_book.py: one chapter at a time at 2 threads, the morning of 2026-12-02.
    "before, a.m.": {
        "kinetics": 245,
        "structure": 215,
        "diffusion": 202,
        "kinetics_priors": 98,
        "generic": 93,
        "overdamped": 69,
        "own_system": 68,
        "gradient_dynamics": 8,
        "icnn": 6,
        "intro": 3,
        "summary": 1,
    },
}
BEFORE_TOTALS: dict[str, dict[str, float | None]] = {
    "0.1.0": {".ci/run": 2113, "test step": None},
    "0.2.0": {".ci/run": 1389, "test step": 733},
    "0.2.0, a.m.": {".ci/run": None, "test step": None, "serial build": 1176},
    "before, a.m.": {".ci/run": 2019, "test step": 926, "serial build": 1028},
}
#: The rows of the step table: key, label.
STEPS = (
    (".ci/run", "`.ci/run`"),
    ("serial build", "book build, one chapter at a time (2 threads)"),
    ("parallel build", "book build, two chapters at a time (1 thread each)"),
    ("test step", "test step (`pytest`, 2 workers)"),
)
#: How the latest columns were measured (written under the tables).
NOTES = """\
The chapter table is one chapter at a time at 2 threads (`python tools/build_book.py --jobs 1`), what a
reader waits for a chapter. "now" was measured in the afternoon of 2026-12-02 with nothing else
running, "before, a.m." and "0.2.0, a.m." that morning on a slower machine of the same kind (between
"before, a.m." and "now" the chapters and the package lost a few unused names and nothing else; the
morning's `.ci/run` built the book one chapter at a time at 2 threads). The speed of these machines drifts within a day: a fixed probe, a short
kinetics fit at one thread, took 17.5 s before the "now" serial build, 13.2 s after it and 14.1 s after
the parallel one, and 13.6 s an hour earlier. `CI=true bash .ci/run` on a fresh clone took 1293 s in
the afternoon: 29 s of installing (the packages were on the machine already), 12 s of ruff and mypy,
514 s for the strict build with the chapters two at a time at one thread each (`tools/build_book.py`)
and 738 s for the test step (924 tests in two pytest-xdist workers at one thread each, every chapter
notebook again through nbval, on MKL's AVX2 path). Two at a time the executions take longer each
(kinetics 206 s, diffusion 222 s at one thread beside another chapter) but the whole build less: 428 s
against 670 s one at a time, run one after the other with the probe at 13.2 s in between. Training,
autograd's double backward through the dissipation network, keeps kinetics and diffusion above two
minutes at 2 threads.
"""


def chapter_times(build: Path) -> dict[str, float]:
    """Execution seconds of each chapter in the build's jupyter-cache (the latest record per chapter)."""
    from jupyter_cache import get_cache

    cache = get_cache(build / ".jupyter_cache")
    out: dict[str, float] = {}
    for record in cache.list_cache_records():
        name = Path(record.uri).stem
        seconds = (record.data or {}).get("execution_seconds")
        if seconds is not None:
            out[name] = float(seconds)
    return out


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def table(times: dict[str, float], steps: dict[str, float | None]) -> str:
    """Markdown tables: seconds per chapter, then per step, for each earlier release and now."""
    releases = list(BEFORE)
    head = "| chapter | " + " | ".join(f"{r} (s)" for r in releases) + " | now (s) |"
    rows = [head, "|---|" + "---:|" * (len(releases) + 1)]
    for name in sorted(times, key=lambda n: -times[n]):
        rows.append(
            f"| {name} | " + " | ".join(_cell(BEFORE[r].get(name)) for r in releases) + f" | {times[name]:.0f} |"
        )
    totals = " | ".join(f"{sum(BEFORE[r].values())}" + ("+" if r == "0.1.0" else "") for r in releases)
    rows.append(f"| **all chapters** | {totals} | {sum(times.values()):.0f} |")
    rows += ["", "| step | " + " | ".join(f"{r} (s)" for r in releases) + " | now (s) |"]
    rows.append("|---|" + "---:|" * (len(releases) + 1))
    for step, label in STEPS:
        before = " | ".join(_cell(BEFORE_TOTALS[r].get(step)) for r in releases)
        rows.append(f"| {label} | {before} | {_cell(steps.get(step))} |")
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, default=ROOT / "_build")
    parser.add_argument("--suite", type=float, default=None, help="wall seconds of the test step")
    parser.add_argument("--ci", type=float, default=None, help="wall seconds of .ci/run")
    parser.add_argument("--serial-build", type=float, default=None, help="wall seconds, --jobs 1")
    parser.add_argument("--parallel-build", type=float, default=None, help="wall seconds, two at a time")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "runtimes.md")
    args = parser.parse_args()
    steps = {".ci/run": args.ci, "serial build": args.serial_build, "parallel build": args.parallel_build}
    steps["test step"] = args.suite
    text = "# Chapter runtimes (2-core CPU, one chapter at a time at 2 threads)\n\n" + table(
        chapter_times(args.build), steps
    )
    text += "\n" + NOTES
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
