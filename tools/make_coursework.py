"""Generate student and instructor copies of the chapters from the same MyST sources.

    python tools/make_coursework.py [--out coursework]

writes ``coursework/instructor/*.ipynb`` (exercises with their solutions) and
``coursework/student/*.ipynb`` (every ``{solution}`` block removed and an answer
stub cell, ``...``, inserted after each exercise).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext
import nbformat

from sync_notebooks import finish  # the same Colab setup cell, kernel and cell ids as the book's notebooks

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = re.compile(r"^(`{3,})\{solution\}[^\n]*\n.*?^\1[ \t]*$\n?", re.S | re.M)
EXERCISE = re.compile(r"^`{3,}\{exercise\}[^\n]*\n:label:\s*(\S+)", re.M)


def strip_solutions(text: str) -> tuple[str, list[str]]:
    """Remove solution blocks from a markdown cell; return the text and the exercise labels in it."""
    return SOLUTION.sub("", text).rstrip() + "\n", EXERCISE.findall(text)


def student_notebook(md: Path) -> nbformat.NotebookNode:
    nb = jupytext.read(md)
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            cells.append(cell)
            continue
        text, labels = strip_solutions(cell.source)
        if text.strip():
            cells.append(nbformat.v4.new_markdown_cell(text))
        for label in labels:
            cells.append(nbformat.v4.new_code_cell(f"# Exercise {label}: your answer here\n..."))
    nb.cells = cells
    return nb


def write(nb: nbformat.NotebookNode, target: Path, stem: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(finish(nb, stem))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "coursework", help="output folder")
    args = parser.parse_args(argv)
    count = 0
    for md in sorted((ROOT / "book").glob("*.md")):
        if "{exercise}" not in md.read_text():
            continue
        write(jupytext.read(md), args.out / "instructor" / f"{md.stem}.ipynb", md.stem)
        write(student_notebook(md), args.out / "student" / f"{md.stem}.ipynb", md.stem)
        count += 1
    print(f"wrote student and instructor copies of {count} chapters to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
