"""One JSONL ledger for every benchmark script: load, append, key, and the stamp that says which
code wrote a record.

Each benchmark script appends one JSON object per run to its ``*.jsonl`` file through
:func:`append`, which adds a ``"stamp"``::

    {"commit": "<git rev-parse HEAD>[+dirty]", "version": "<ggd_tutorial.__version__>",
     "experiment": "<digest of the record or study settings the run used>"}

``"+dirty"`` marks a tree with uncommitted changes. The experiment digest is
:func:`ggd_tutorial.book.registry.digest` (a SHA-256 of the canonical settings: data factory and
arguments, model spec, fit config, seeds, measure keys, functions and levels), so a changed record
gives another digest. Rows written before stamps existed carry ``"stamp": null`` (legacy); rows
rerun bitwise by ``benchmarks/bitwise.py`` carry ``{"experiment": ..., "verified": ...}``.

:func:`load` reads a ledger and keeps the first record of each key (two processes of a study may
run the same configuration), so an interrupted study resumes where it stopped.
"""

from __future__ import annotations

import json
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

ROOT = Path(__file__).resolve().parents[1]


def key(record: dict, fields: Iterable[str]) -> tuple:
    """The identity of a record: its values of ``fields``."""
    return tuple(record[f] for f in fields)


def load(path: Path, fields: Iterable[str] | None = None) -> list[dict]:
    """Every record of the ledger ``path`` (none if it does not exist); with ``fields``, the first
    record of each :func:`key` only."""
    if not Path(path).exists():
        return []
    records = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    if fields is None:
        return records
    fields = tuple(fields)
    out: dict[tuple, dict] = {}
    for record in records:
        out.setdefault(key(record, fields), record)
    return list(out.values())


@lru_cache(maxsize=1)
def commit() -> str:
    """``git rev-parse HEAD``, with ``+dirty`` if tracked files have uncommitted changes;
    ``"unknown"`` outside a git checkout."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def digest_of(settings) -> str:
    """A stable digest of plain settings (:func:`ggd_tutorial.book.registry.settings_digest`), for
    the records of a script that changes an experiment record (a variant, a comparison)."""
    from ggd_tutorial.book.registry import settings_digest

    return settings_digest(settings)


def stamp(experiment: str | None) -> dict:
    """The stamp of a new record: commit, package version, and the digest of its settings."""
    import ggd_tutorial

    return {"commit": commit(), "version": ggd_tutorial.__version__, "experiment": experiment}


def append(path: Path, record: dict, experiment: str | None) -> dict:
    """Append ``record`` to the ledger ``path``, stamped with the digest ``experiment``; return it."""
    record = {**record, "stamp": stamp(experiment)}
    with Path(path).open("a") as f:
        f.write(json.dumps(record) + "\n")
    return record


def rewrite(path: Path, change: Callable[[dict], dict]) -> None:
    """Rewrite every record of ``path`` through ``change`` (in place, order kept): for stamping
    committed rows, never for their values."""
    records = load(path)
    Path(path).write_text("".join(json.dumps(change(r)) + "\n" for r in records))
