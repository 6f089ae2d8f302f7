"""Chapter runtimes of a book build, read from its execution cache, next to the earlier measurements.

    jupyter-book build . -W -n --keep-going          # executes every chapter (fresh build: no cache yet)
    python benchmarks/runtimes.py [--build _build] [--suite SECONDS] [--ci SECONDS]

The build keeps each executed notebook with its execution time in ``_build/.jupyter_cache``; this
script reads those times and writes ``benchmarks/runtimes.md``: seconds per chapter at the machine's
thread count, the earlier values (0.1.0, measured on the same kind of 2-core machine from a fresh clone)
and, when given, the test-suite and ``.ci/run`` wall times. Time a build alone: two torch jobs on two
cores slow each other several times over.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Seconds per chapter in the book build of 0.1.0 (fresh clone, 2 threads), and the totals then.
BEFORE = {"kinetics": 185, "diffusion": 183, "structure": 93, "kinetics_priors": 90, "overdamped": 65, "own_system": 30}
BEFORE_TOTALS = {"book build": 11 * 60, "test suite (one process, one thread)": None, ".ci/run": 2113}


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


def table(times: dict[str, float], suite: float | None, ci: float | None) -> str:
    rows = ["| chapter | 0.1.0 (s) | now (s) |", "|---|---:|---:|"]
    for name in sorted(times, key=lambda n: -times[n]):
        before = BEFORE.get(name)
        rows.append(f"| {name} | {before if before is not None else '–'} | {times[name]:.0f} |")
    rows.append(f"| **all chapters** | {sum(BEFORE.values())}+ | {sum(times.values()):.0f} |")
    rows += ["", "| step | 0.1.0 (s) | now (s) |", "|---|---:|---:|"]
    rows.append(
        f"| `.ci/run` | {BEFORE_TOTALS['.ci/run']} | {ci:.0f} |"
        if ci
        else f"| `.ci/run` | {BEFORE_TOTALS['.ci/run']} | – |"
    )
    rows.append(f"| test step (`pytest`) | – | {suite:.0f} |" if suite else "| test step (`pytest`) | – | – |")
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, default=ROOT / "_build")
    parser.add_argument("--suite", type=float, default=None, help="wall seconds of the test step")
    parser.add_argument("--ci", type=float, default=None, help="wall seconds of .ci/run")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "runtimes.md")
    args = parser.parse_args()
    text = "# Chapter runtimes (2-core CPU, book build at 2 threads)\n\n" + table(
        chapter_times(args.build), args.suite, args.ci
    )
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
