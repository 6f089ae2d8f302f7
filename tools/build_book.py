"""Build the book: execute its chapters in parallel, one kernel per core, then render it with Jupyter Book.

    python tools/build_book.py                   # = jupyter-book build . -W -n --keep-going, a chapter per core
    python tools/build_book.py --jobs 1          # one chapter at a time, at the machine's thread count
    python tools/build_book.py -- --all          # extra arguments after -- go to jupyter-book build

``jupyter-book build`` executes the chapters one after another. A chapter's small matrix products
gain only about 1.5 times from a second thread (a short kinetics fit: 13.6 s at one thread, 8.9 s at
two), so running one chapter per core at one thread each finishes the same work sooner. This script executes every
chapter whose outputs are not in the book's execution cache (``_build/.jupyter_cache``, the cache of
``execute_notebooks: cache`` in ``_config.yml``), ``--jobs`` at a time, the longest first (by the
committed ``benchmarks/runtimes.md``), each kernel with ``OMP_NUM_THREADS`` = cores // jobs; stores
each executed chapter in that cache with jupyter-cache's own API; then runs ``jupyter-book build``,
which finds every chapter there and executes nothing (the script fails if the build executed one
itself: its cache key differed). A chapter that fails is reported with its traceback, the others
stay cached, and the build does not start. With ``--jobs 1`` (the default on one core) the build executes the chapters itself.
"""

from __future__ import annotations

import argparse
import math
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
    """The book's executable pages (MyST notebooks, as myst-nb detects them), longest first."""
    from myst_nb.core.read import is_myst_markdown_notebook

    seconds = committed_seconds()
    pages = [p for p in sorted(BOOK.glob("*.md")) if not p.name.startswith("_")]
    notebooks = [p for p in pages if is_myst_markdown_notebook(p.read_text("utf8"))]
    return sorted(notebooks, key=lambda p: -seconds.get(p.stem, 0.0))


def read_chapter(path: Path):
    """The chapter as the build reads it (myst-nb's reader with the book's MyST extensions), so that
    its cache key is the build's."""
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    parse = (yaml.safe_load((ROOT / "_config.yml").read_text()) or {}).get("parse") or {}
    config = MdParserConfig(enable_extensions=set(parse.get("myst_enable_extensions") or ()))
    return read_myst_markdown_notebook(path.read_text("utf8"), config=config, add_source_map=True, path=str(path))


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
        if os.name == "posix":
            km = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(sockets) / "kernel"))
        else:  # ZeroMQ has no IPC transport on Windows
            km = KernelManager(kernel_name="python3")
        try:
            result = single_nb_execution(
                nb, cwd=str(Path(path).parent), timeout=timeout, allow_errors=allow_errors, km=km
            )
        except Exception:  # a dead kernel, a failed start: the chapter failed, the others go on
            return nb, time.perf_counter() - start, traceback.format_exc()
        finally:  # nbclient leaves a kernel it was given running
            if km.has_kernel:
                km.shutdown_kernel(now=True)
            km.cleanup_resources()
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
    threads = max(1, cores() // jobs)
    timeout, allow_errors = execution_settings()
    print(f"executing {len(todo)} chapters, {jobs} at a time, {threads} thread(s) each", flush=True)
    failed, start = [], time.perf_counter()
    context = multiprocessing.get_context("spawn")  # each chapter in a new process: no state carried over
    fresh = {"max_tasks_per_child": 1} if sys.version_info >= (3, 11) else {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, **fresh) as pool:
        futures = {pool.submit(execute_chapter, str(p), threads, timeout, allow_errors): p for p in todo}
        for future in as_completed(futures):
            path = futures[future]
            try:
                nb, seconds, error = future.result()
            except Exception as err:  # the worker process itself died
                nb, seconds, error = None, math.nan, f"{type(err).__name__}: {err}"
            if error is not None:
                failed.append(path.stem)
                print(f"FAILED {path.stem} after {seconds:.0f} s:\n{error}", file=sys.stderr, flush=True)
                continue
            bundle = CacheBundleIn(nb, str(path), data={"execution_seconds": seconds})
            cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
            print(f"  {path.stem}: {seconds:.0f} s", flush=True)
    print(f"executed in {time.perf_counter() - start:.0f} s" + (f"; failed: {failed}" if failed else ""))
    return not failed


def cores() -> int:
    """The cores this process may use (its CPU affinity where the platform tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=cores(), help="chapters at a time (default: cores)")
    parser.add_argument("extra", nargs="*", help="arguments for jupyter-book build, after --")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.jobs > 1 and not execute_missing(args.jobs):
        return 1
    before = cache_records()
    jupyter_book = "from jupyter_book.cli.main import main; main()"  # the `jupyter-book` command, of this Python
    command = [sys.executable, "-c", jupyter_book, "build", str(ROOT), *STRICT, *args.extra]
    code = subprocess.run(command, cwd=ROOT).returncode
    executed = sorted(cache_records() - before)
    if args.jobs > 1 and executed:  # a chapter's key differed from the build's: it ran again, alone
        print(f"the build executed {executed} itself: their cache keys differ", file=sys.stderr)
        return code or 1
    return code


def cache_records() -> set[str]:
    """The chapters' records in the execution cache, as (uri, record number) strings."""
    from jupyter_cache import get_cache

    return {f"{Path(r.uri).stem}#{r.pk}" for r in get_cache(str(CACHE)).list_cache_records()}


if __name__ == "__main__":
    sys.exit(main())
