"""Build the book: execute its chapters in parallel, one kernel per core, then render it with Jupyter Book.

    python tools/build_book.py                   # = jupyter-book build . -W -n --keep-going, chapters 2 at a time
    python tools/build_book.py --jobs 1          # one chapter at a time, at the machine's thread count
    python tools/build_book.py -- --all          # extra arguments after -- go to jupyter-book build

``jupyter-book build`` executes the chapters one after another. On a machine with few cores a
chapter's small matrix products use a second thread at about two thirds of its worth, so running
one chapter per core at one thread each finishes the same work sooner. This script executes every
chapter whose outputs are not in the book's execution cache (``_build/.jupyter_cache``, the cache of
``execute_notebooks: cache`` in ``_config.yml``), ``--jobs`` at a time, the longest first (by the
committed ``benchmarks/runtimes.md``), each kernel with ``OMP_NUM_THREADS`` = cores // jobs; stores
each executed chapter in that cache with jupyter-cache's own API; then runs ``jupyter-book build``,
which finds every chapter in the cache and executes nothing. A chapter that fails is reported with
its traceback, the others stay cached, and the build does not start.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CACHE = ROOT / "_build" / ".jupyter_cache"
STRICT = ["-W", "-n", "--keep-going"]


def committed_seconds() -> dict[str, float]:
    """Seconds per chapter in the latest committed book build (``benchmarks/runtimes.md``, last column)."""
    table = ROOT / "benchmarks" / "runtimes.md"
    out = {}
    for line in table.read_text().splitlines() if table.exists() else []:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 1 and cells[-1].replace(".", "", 1).isdigit():
            out[cells[0]] = float(cells[-1])
    return out


def chapters() -> list[Path]:
    """The book's executable pages (MyST notebooks), longest first."""
    seconds = committed_seconds()
    pages = [p for p in sorted(BOOK.glob("*.md")) if not p.name.startswith("_")]
    notebooks = [p for p in pages if p.read_text().startswith("---\njupytext:")]
    return sorted(notebooks, key=lambda p: -seconds.get(p.stem, 0.0))


def read_chapter(path: Path):
    """The chapter as the build reads it (myst-nb's reader), so that its cache key is the build's."""
    from myst_nb.core.read import read_myst_markdown_notebook

    return read_myst_markdown_notebook(path.read_text("utf8"), add_source_map=True, path=str(path))


def execution_settings() -> tuple[int, bool]:
    """The cell timeout and ``allow_errors`` of ``_config.yml``'s ``execute`` section."""
    execute = (yaml.safe_load((ROOT / "_config.yml").read_text()) or {}).get("execute") or {}
    if execute.get("execute_notebooks", "cache") != "cache":
        raise SystemExit("tools/build_book.py needs `execute_notebooks: cache` in _config.yml")
    return int(execute.get("timeout", 30)), bool(execute.get("allow_errors", False))


def execute_chapter(path: str, threads: int, timeout: int, allow_errors: bool):
    """Run in a fresh worker process: execute one chapter in its own directory, its kernel reached
    over local (IPC) sockets rather than TCP ports, which two kernels starting at once could both
    pick; return the executed notebook, the seconds it took and the traceback (None on success)."""
    import tempfile
    import traceback

    from jupyter_cache.executors.utils import single_nb_execution
    from jupyter_client.manager import KernelManager

    os.environ["OMP_NUM_THREADS"] = str(threads)  # the kernel inherits the worker's environment
    nb, start = read_chapter(Path(path)), time.perf_counter()
    with tempfile.TemporaryDirectory() as sockets:
        km = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(sockets) / "kernel"))
        try:
            result = single_nb_execution(
                nb, cwd=str(Path(path).parent), timeout=timeout, allow_errors=allow_errors, km=km
            )
        except Exception:  # a dead kernel, a failed start: the chapter failed, the others go on
            return nb, time.perf_counter() - start, traceback.format_exc()
    return nb, result.time, None if result.err is None else result.exc_string


def execute_missing(jobs: int) -> bool:
    """Execute, ``jobs`` at a time, every chapter the cache lacks and cache it; True if all succeeded."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(CACHE))

    def cached(path: Path) -> bool:
        try:
            cache.match_cache_notebook(read_chapter(path))
            return True
        except KeyError:
            return False

    todo = [p for p in chapters() if not cached(p)]
    if not todo:
        print("every chapter is in the execution cache")
        return True
    threads = int(os.environ.get("OMP_NUM_THREADS") or max(1, (os.cpu_count() or 1) // jobs))
    timeout, allow_errors = execution_settings()
    print(f"executing {len(todo)} chapters, {jobs} at a time, {threads} thread(s) each", flush=True)
    failed, start = [], time.perf_counter()
    context = multiprocessing.get_context("spawn")  # each chapter in a new process: no state carried over
    fresh = {"max_tasks_per_child": 1} if sys.version_info >= (3, 11) else {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, **fresh) as pool:
        futures = {pool.submit(execute_chapter, str(p), threads, timeout, allow_errors): p for p in todo}
        for future in as_completed(futures):
            path = futures[future]
            nb, seconds, error = future.result()
            if error is not None:
                failed.append(path.stem)
                print(f"FAILED {path.stem} after {seconds:.0f} s:\n{error}", file=sys.stderr, flush=True)
                continue
            bundle = CacheBundleIn(nb, str(path), data={"execution_seconds": seconds})
            cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
            print(f"  {path.stem}: {seconds:.0f} s", flush=True)
    print(f"executed in {time.perf_counter() - start:.0f} s" + (f"; failed: {failed}" if failed else ""))
    return not failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="chapters at a time (default: cores)")
    parser.add_argument("extra", nargs="*", help="arguments for jupyter-book build, after --")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.jobs > 1 and not execute_missing(args.jobs):
        return 1
    jupyter_book = "from jupyter_book.cli.main import main; main()"  # the `jupyter-book` command, of this Python
    command = [sys.executable, "-c", jupyter_book, "build", str(ROOT), *STRICT, *args.extra]
    return subprocess.run(command, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
