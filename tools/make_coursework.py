"""Coursework from the book: student and instructor copies of the chapters, and graded assignments.

    python tools/make_coursework.py [--out coursework]
    python tools/make_coursework.py release [ASSIGNMENT ...] [--course coursework/nbgrader]
    python tools/make_coursework.py grade ASSIGNMENT SUBMISSIONS [--course ...] [--csv grades.csv]

The first form writes ``coursework/instructor/*.ipynb`` (exercises with their solutions),
``coursework/student/*.ipynb`` (every ``{solution}`` block removed and an answer stub cell after
each exercise) and ``coursework/nbgrader/``, an nbgrader course directory with one assignment per
chapter with code (``source/<chapter>/<chapter>.ipynb``, built from ``tools/assignments.py``).

``release`` runs ``nbgrader generate_assignment``: the student notebooks, without solutions and
hidden tests, land in ``coursework/nbgrader/release/<chapter>/``. ``grade`` takes a folder of
submissions named ``<student>.ipynb``, runs ``nbgrader autograde`` (hidden tests restored from the
source, so edited tests do not count) and writes a CSV with one row per student and the points of
every question.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
from assignments import ASSIGNMENTS, SETUP, Question
from sync_notebooks import finish, setup_cell  # the same Colab setup cell, kernel and cell ids as the book

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


def _cell(kind: str, source: str, grade_id: str, points: int | None = None) -> nbformat.NotebookNode:
    """A cell with nbgrader metadata: ``prompt`` (read-only markdown), ``setup`` (read-only code),
    ``answer`` (the student edits it) or ``tests`` (read-only, worth ``points``)."""
    make = nbformat.v4.new_markdown_cell if kind == "prompt" else nbformat.v4.new_code_cell
    meta = {
        "grade": kind == "tests",
        "grade_id": grade_id,
        "locked": kind != "answer",
        "schema_version": 3,
        "solution": kind == "answer",
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return make(source, metadata={"nbgrader": meta})


def _tests(question: Question) -> str:
    return f"{question.public}\n### BEGIN HIDDEN TESTS\n{question.hidden}\n### END HIDDEN TESTS"


def assignment_notebook(chapter: str, questions: list[Question]) -> nbformat.NotebookNode:
    """The nbgrader source notebook of one chapter: reference answers and all tests."""
    total = sum(q.points for q in questions)
    intro = (
        f"# Assignment: {chapter.replace('_', ' ')}\n\n{len(questions)} questions, {total} points. "
        "Replace each `raise NotImplementedError()` by your answer and run every cell; the checks "
        "under each answer tell you what is wrong. More tests run when it is graded."
    )
    cells = [_cell("prompt", intro, "intro"), _cell("setup", SETUP, "setup")]
    for i, q in enumerate(questions, 1):
        cells += [
            _cell("prompt", f"## Question {i} ({q.points} points)\n\n{q.prompt}", f"{q.name}-prompt"),
            _cell("answer", q.solution, f"{q.name}-answer"),
            _cell("tests", _tests(q), f"{q.name}-tests", q.points),
        ]
    nb = nbformat.v4.new_notebook(cells=cells)
    colab = setup_cell()
    colab.metadata["nbgrader"] = {
        "grade": False,
        "grade_id": "colab-setup",
        "locked": True,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    nb.cells.insert(0, colab)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{chapter}-{i}"
    return nb


def write_course(course: Path) -> None:
    """An nbgrader course directory: config and one source assignment per chapter."""
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821 (nbgrader provides it)\n"
        "c.CourseDirectory.root = __import__('os').path.dirname(__file__)\n"
        "c.ExecutePreprocessor.timeout = 120\n"
    )
    for chapter, questions in ASSIGNMENTS.items():
        target = course / "source" / chapter / f"{chapter}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(assignment_notebook(chapter, questions), target)


def _nbgrader(course: Path, *args: str) -> None:
    quiet = {**os.environ, "PYTHONWARNINGS": "ignore"}  # nbgrader's own SQLAlchemy warnings are noise here
    subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, "--force", "--log-level=WARN"], cwd=course, check=True, env=quiet
    )


def release(course: Path, chapters: list[str]) -> None:
    """Student notebooks (no solutions, no hidden tests) in ``course/release/<chapter>/``."""
    for chapter in chapters:
        _nbgrader(course, "generate_assignment", chapter)


def grade(course: Path, chapter: str, submissions: Path, out: Path) -> list[dict[str, object]]:
    """Autograde every ``<student>.ipynb`` in ``submissions``; write and return one row per student."""
    from nbgrader.api import Gradebook  # only the grading step needs nbgrader importable

    if chapter not in ASSIGNMENTS:
        raise SystemExit(f"no assignment {chapter!r}; there are: {', '.join(ASSIGNMENTS)}")
    files = sorted(submissions.glob("*.ipynb"))
    if not files:
        raise SystemExit(f"no submissions (*.ipynb) in {submissions}")
    release(course, [chapter])
    for path in files:
        target = course / "submitted" / path.stem / chapter / f"{chapter}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    _nbgrader(course, "autograde", chapter, "--create")
    names = [q.name for q in ASSIGNMENTS[chapter]]
    rows = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for path in files:
            row: dict[str, object] = {"student": path.stem}
            for name in names:
                row[name] = gradebook.find_grade(f"{name}-tests", chapter, chapter, path.stem).score
            row["total"] = sum(row[n] for n in names)
            row["max"] = sum(q.points for q in ASSIGNMENTS[chapter])
            rows.append(row)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"graded {len(rows)} submissions of {chapter!r} into {out}")
    return rows


def write_copies(out: Path) -> None:
    count = 0
    for md in sorted((ROOT / "book").glob("*.md")):
        if "{exercise}" not in md.read_text():
            continue
        write(jupytext.read(md), out / "instructor" / f"{md.stem}.ipynb", md.stem)
        write(student_notebook(md), out / "student" / f"{md.stem}.ipynb", md.stem)
        count += 1
    write_course(out / "nbgrader")
    print(
        f"wrote student and instructor copies of {count} chapters and {len(ASSIGNMENTS)} nbgrader assignments to {out}"
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    course_default = ROOT / "coursework" / "nbgrader"
    if argv[:1] == ["release"]:
        parser = argparse.ArgumentParser(prog="make_coursework.py release")
        parser.add_argument("chapters", nargs="*", default=list(ASSIGNMENTS))
        parser.add_argument("--course", type=Path, default=course_default)
        args = parser.parse_args(argv[1:])
        release(args.course, args.chapters)
        return 0
    if argv[:1] == ["grade"]:
        parser = argparse.ArgumentParser(prog="make_coursework.py grade")
        parser.add_argument("chapter", choices=list(ASSIGNMENTS))
        parser.add_argument("submissions", type=Path, help="folder of <student>.ipynb files")
        parser.add_argument("--course", type=Path, default=course_default)
        parser.add_argument("--csv", type=Path, default=Path("grades.csv"))
        args = parser.parse_args(argv[1:])
        grade(args.course, args.chapter, args.submissions, args.csv)
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "coursework", help="output folder")
    write_copies(parser.parse_args(argv).out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
