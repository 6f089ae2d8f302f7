"""Coursework from the book: student and instructor copies of the chapters, and graded assignments.

    python tools/make_coursework.py [--out coursework] [--launch https://github.com/OWNER/NAME/blob/REF/FOLDER]
                                    [--key KEY.py]   (every form: an instructor's key, see below)
    python tools/make_coursework.py release [ASSIGNMENT ...] [--course coursework/nbgrader] [--students ID ...]
    python tools/make_coursework.py grade ASSIGNMENT SUBMISSIONS [--csv grades.csv] [--timeout 60] [--per-student]
                                          [--nbgrader-course coursework/nbgrader]

The first form writes ``coursework/instructor/*.ipynb`` (exercises with their solutions),
``coursework/student/*.ipynb`` (no solutions, an answer cell after each exercise, none of the book's
checks; with ``--launch``, a first cell that opens the copy in Colab from where it will be published),
both in plain Markdown (``tools/colab_notebooks.py``), and ``coursework/nbgrader/``, an nbgrader course directory with one assignment per
chapter with code (``source/<chapter>/<chapter>.ipynb``, built from ``tools/assignments.py``).

``release`` runs ``nbgrader generate_assignment``: the student notebooks, without solutions,
land in ``coursework/nbgrader/release/<chapter>/``. With ``--students``, every student also gets a
notebook of their own, ``coursework/nbgrader/personal/<chapter>/<student>/<chapter>.ipynb``, whose
parameters (a potential's scale, a reparameterization's epsilon, a stencil's stride, ...) are drawn
from a seed tied to the assignment and the student id, so the book's solved exercises do not
answer it; ``grade --per-student`` recomputes every reference for that student's parameters.

``grade`` takes a folder of submissions, either ``<student>.ipynb`` files or one folder per student
holding the notebook (any name; nbgrader's ``submitted/`` layout works), and writes a CSV with one
row per student: the points of every question, the total, the maximum, a status (``ok``, or
``check`` when the notebook needs a look: a duplicated answer cell, stripped cell metadata, a
renamed file, a cell that crashed or ran too long, a file that is not a notebook) and messages that
say what is wrong. Questions graded by hand (derivations, open-ended ones) get an empty column to fill in and a
sheet per student next to the CSV (``<csv>-by-hand/<student>.md``: the answer, a model answer and
the rubric); the rubrics are also in ``coursework/nbgrader/rubrics/``. The points never come from the student's kernel, where an answer cell can patch
anything. For every question, a separate process runs the setup and the student's code cells (not
the read-only cells, whatever the student did to them) with the package's own implementation of
what the question asks switched off, calls the student's functions on the grader's inputs and
sends back only the numbers; the references and the comparisons run here (see
``tools/assignments.py``). One student's crash, endless loop or tampering reaches no other question
and no other student; re-grading needs no cleanup (nothing is stored between runs). With
``--nbgrader-course``, the submissions also go, repaired (a duplicated answer cell keeps one copy
of its metadata, stripped metadata is put back), into that course's ``submitted/`` for nbgrader's
own ``autograde`` and formgrader, which would otherwise stop on a duplicated cell.

Every form takes ``--key PATH``: the instructor's key, a Python file kept out of the repository,
that adds questions, replaces or withdraws public ones and salts the parameter draws (its form:
``tools/key_example.py``; :func:`assignments.load_key`). The questions in ``tools/assignments.py``
are public, reference answers and hidden tests included: they are the open book's practice
assignments. Questions for credit belong in a key. The key is loaded only by this process; the
students' processes get each question's probe and nothing else of it.

What this does not stop: code that attacks the grading machine itself (its files, other processes)
runs with the instructor's rights, as under any autograder; grade untrusted submissions in a
container or as an unprivileged user.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import copy
import csv
import importlib
import inspect
import json
import os
import pickle
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import assignments
import cloudpickle
import nbformat
import torch
from assignments import ASSIGNMENTS, MANUAL, Manual, Question, Wrong, parameters, setup_source
from colab_notebooks import book_pages, chapter_notebook
from sync_notebooks import finish, links, setup_cell  # the same setup cell, kernel, cell ids and links as the book

ROOT = Path(__file__).resolve().parents[1]


def student_notebook(md: Path, launch: str | None = None) -> nbformat.NotebookNode:
    """The student's copy of a chapter: plain Markdown, no solutions, an answer cell after each
    exercise, none of the book's checks (see ``tools/colab_notebooks.py``); with ``launch`` (the
    GitHub folder the copies are published in, ``https://github.com/OWNER/NAME/blob/REF/FOLDER``),
    a first cell that opens this copy in Colab."""
    nb = chapter_notebook(md, links(), "student")
    if launch:
        nb.cells.insert(
            0, nbformat.v4.new_markdown_cell(f"[Open this notebook in Colab]({colab_url(launch, md.stem)})")
        )
    return nb


def colab_url(folder: str, stem: str) -> str:
    """The Colab address of ``<folder>/<stem>.ipynb`` for a GitHub folder URL.

    Raises
    ------
    ValueError
        If ``folder`` is not of the form ``https://github.com/OWNER/NAME/blob/REF[/PATH]``.
    """
    match = re.match(r"^https://github\.com/([^/]+/[^/]+)/(?:blob|tree)/(.+?)/?$", folder)
    if not match:
        raise ValueError(f"--launch needs https://github.com/OWNER/NAME/blob/REF/FOLDER, not {folder!r}")
    return f"https://colab.research.google.com/github/{match[1]}/blob/{match[2]}/{stem}.ipynb"


def write(nb: nbformat.NotebookNode, target: Path, stem: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(finish(nb, stem))


def _cell(kind: str, source: str, grade_id: str) -> nbformat.NotebookNode:
    """A cell with nbgrader metadata: ``prompt`` (read-only markdown), ``setup`` (read-only code)
    or ``answer`` (the student edits it). The check cells under the answers are read-only setup
    cells: they give feedback, the points come from ``grade``."""
    make = nbformat.v4.new_markdown_cell if kind == "prompt" else nbformat.v4.new_code_cell
    meta = {
        "grade": False,
        "grade_id": grade_id,
        "locked": kind != "answer",
        "schema_version": 3,
        "solution": kind == "answer",
        "task": False,
    }
    return make(source, metadata={"nbgrader": meta})


def _points(value: float) -> str:
    return f"{value:g}"


def assignment_notebook(chapter: str, questions: list[Question], params: dict | None = None) -> nbformat.NotebookNode:
    """The nbgrader source notebook of one chapter: reference answers and the public checks, with
    the book's parameters unless ``params`` are given."""
    params = parameters(chapter) if params is None else params
    manual = MANUAL.get(chapter, [])
    total = sum(q.points for q in questions) + sum(m.points for m in manual)
    intro = (
        f"# Assignment: {chapter.replace('_', ' ')}\n\n{len(questions) + len(manual)} questions, "
        f"{_points(total)} points. "
        "Replace each `raise NotImplementedError()` by your answer and run every cell; the check under "
        "each answer tells you what is wrong. Grading runs more tests, in a fresh process, with the "
        "package's own version of what a question asks switched off: write your own code. Keep the "
        "names the questions ask for, and one answer cell per question."
    )
    cells = [_cell("prompt", intro, "intro"), _cell("setup", setup_source(params), "setup")]
    for i, q in enumerate(questions, 1):
        cells += [
            _cell("prompt", _prompt(i, q, params), f"{q.name}-prompt"),
            _cell("answer", q.solution, f"{q.name}-answer"),
            _cell("setup", q.public, f"{q.name}-tests"),
        ]
    for i, m in enumerate(manual, len(questions) + 1):
        answer = _cell("prompt", m.model, f"{m.name}-answer")  # a Markdown answer: the model one, stripped on release
        answer.metadata["nbgrader"].update(grade=True, solution=True, locked=False, points=m.points)
        cells += [_cell("prompt", _prompt(i, m, params), f"{m.name}-prompt"), answer]
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


def _prompt(number: int, question: Question | Manual, params: dict) -> str:
    by_hand = ", graded by hand" if isinstance(question, Manual) else ""
    return f"## Question {number} ({_points(question.points)} points{by_hand})\n\n{question.render(params)}"


def rubric(chapter: str, params: dict | None = None, answers: dict[str, str] | None = None) -> str:
    """The instructor's sheet of the questions graded by hand: prompts, model answers, rubrics and,
    given ``answers``, one student's answers."""
    params = parameters(chapter) if params is None else params
    first = len(ASSIGNMENTS[chapter]) + 1
    parts = [f"# {chapter}: questions graded by hand\n"]
    for i, m in enumerate(MANUAL.get(chapter, []), first):
        parts.append(_prompt(i, m, params))
        if answers is not None:
            parts.append("**The student's answer:**\n\n" + (answers.get(m.name) or "(no answer found)"))
        parts.append("**Model answer:** " + m.model)
        parts.append("**Rubric:**\n\n" + "\n".join(f"- [ ] {p:g} point(s): {what}" for p, what in m.rubric))
    return "\n\n".join(parts) + "\n"


def manual_answers_cells(chapter: str, nb) -> dict[str, nbformat.NotebookNode]:
    """The Markdown answer cells of the questions graded by hand, by nbgrader id or else by position
    (the Markdown cell after the question's heading); the last one where there are several."""
    cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "markdown"]
    found = {}
    for i, m in enumerate(MANUAL.get(chapter, []), len(ASSIGNMENTS[chapter]) + 1):
        by_id = [
            c for c in cells if ((c.get("metadata") or {}).get("nbgrader") or {}).get("grade_id") == f"{m.name}-answer"
        ]
        after = [cells[k + 1] for k, c in enumerate(cells[:-1]) if c.source.startswith(f"## Question {i} (")]
        if by_id or after:
            found[m.name] = (by_id or after)[-1]
    return found


def manual_answers(chapter: str, path: Path) -> dict[str, str]:
    """The Markdown answers of the questions graded by hand (see :func:`manual_answers_cells`)."""
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:  # noqa: BLE001 - reported by student_cells
        return {}
    return {name: cell.source for name, cell in manual_answers_cells(chapter, nb).items()}


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
        if MANUAL.get(chapter):  # outside source/, so no release carries it
            (course / "rubrics").mkdir(exist_ok=True)
            (course / "rubrics" / f"{chapter}.md").write_text(rubric(chapter))


def _environment() -> dict[str, str]:
    """This interpreter's bin directory first on PATH: nbgrader runs ``alembic`` from PATH, which a
    virtual environment's python finds only when the environment is activated."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, "PYTHONWARNINGS": "ignore"}  # nbgrader's SQLAlchemy warnings are noise


def _nbgrader(course: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, "--force", "--log-level=WARN"],
        cwd=course,
        check=True,
        env=_environment(),
    )


def release(course: Path, chapters: list[str], students: list[str] = ()) -> None:
    """Student notebooks (no solutions) in ``course/release/<chapter>/``, with the book's parameters;
    with ``students``, one notebook per student with that student's parameters in
    ``course/personal/<chapter>/<student>/<chapter>.ipynb`` (grade them with ``per_student``) and
    every student's parameters in ``course/personal/<chapter>/parameters.csv``."""
    for chapter in chapters:
        if chapter not in ASSIGNMENTS:
            raise SystemExit(f"no assignment {chapter!r}; there are: {', '.join(ASSIGNMENTS)}")
    if any(not (course / "source" / chapter).is_dir() for chapter in chapters):
        write_course(course)
    if len(chapters) > 1 and set(chapters) == set(ASSIGNMENTS):
        _nbgrader(course, "generate_assignment", "*")  # all of them in one nbgrader run
    else:
        for chapter in chapters:
            _nbgrader(course, "generate_assignment", chapter)
    for chapter in chapters if students else ():
        released = nbformat.read(str(course / "release" / chapter / f"{chapter}.ipynb"), as_version=4)
        table = []
        for student in students:
            params = parameters(chapter, student)
            table.append({"student": student, **params})
            target = course / "personal" / chapter / student / f"{chapter}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(personal_notebook(chapter, released, student, params), str(target))
        if table and len(table[0]) > 1:
            with (course / "personal" / chapter / "parameters.csv").open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(table[0]))
                writer.writeheader()
                writer.writerows(table)


def personal_notebook(chapter: str, released, student: str, params: dict):
    """A released notebook with one student's parameters (setup cell and prompts) and id (metadata)."""
    from nbgrader.utils import compute_checksum

    nb = copy.deepcopy(released)
    every = [*ASSIGNMENTS[chapter], *MANUAL.get(chapter, [])]
    prompts = {f"{q.name}-prompt": _prompt(i, q, params) for i, q in enumerate(every, 1)}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        source = setup_source(params) if meta.get("grade_id") == "setup" else prompts.get(meta.get("grade_id"))
        if source is not None:
            cell.source = source
            if "checksum" in meta:  # nbgrader's record of a read-only cell, so its validate accepts it
                meta["checksum"] = compute_checksum(cell)
    nb.metadata["coursework"] = {"assignment": chapter, "student": student}
    return nb


# ---------------------------------------------------------------------------------------------
# Grading: read the submissions here, run the student's code elsewhere, compare here.

STATUS_OK, STATUS_CHECK, STATUS_NOT_GRADED = "ok", "check", "not graded"


class Unreadable(Exception):
    """A submission that cannot be graded at all; the message goes into the CSV."""


def _normalized(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _defined_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def student_cells(chapter: str, path: Path) -> tuple[list[tuple[int, str]], list[str], str | None]:
    """The code cells of a submission that the student wrote, as (cell number, source), and notes
    about anything an instructor should look at. Read-only cells (the setup and the checks) are
    left out whatever their content: the grader supplies the setup itself. Without nbgrader's
    metadata, a cell is read-only when its source equals one of the assignment's read-only cells.
    The last item is the student id the notebook was released for, if any."""
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets a row, not a crash
        raise Unreadable(f"{path.name} is not a readable notebook ({type(err).__name__}: {str(err)[:120]})") from err
    questions = ASSIGNMENTS[chapter]
    reference = assignment_notebook(chapter, questions)
    read_only = {c.metadata["nbgrader"]["grade_id"] for c in reference.cells if c.metadata["nbgrader"]["locked"]}
    read_only_sources = {_normalized(c.source) for c in reference.cells if c.metadata["nbgrader"]["locked"]}
    cells, answers, with_metadata = [], Counter(), 0
    for number, cell in enumerate(nb.get("cells", []), 1):
        if cell.get("cell_type") != "code":
            continue
        meta = (cell.get("metadata") or {}).get("nbgrader")
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if grade_id:
            with_metadata += 1
        if grade_id in read_only or (grade_id is None and _normalized(source) in read_only_sources):
            continue
        if grade_id:
            answers[grade_id] += 1
        cells.append((number, source))
    notes = []
    if not with_metadata:
        notes.append("the cell metadata is missing (stripped by an editor?): answers were found by their names")
    for q in questions:
        copies = answers.get(f"{q.name}-answer", 0)
        if copies > 1:
            notes.append(
                f"the answer cell of {q.name} appears {copies} times (a duplicated cell): "
                "graded as the notebook runs, top to bottom, so the last definition counts"
            )
        elif with_metadata and not copies:
            notes.append(f"the answer cell of {q.name} lost its metadata or was deleted: its names were looked up")
    defined = set().union(*(_defined_names(s) for _, s in cells)) if cells else set()
    if not any(set(q.defines) & defined for q in questions):
        notes.append(f"no answer of the {chapter} assignment found: is this the right notebook?")
    released_for = ((nb.get("metadata") or {}).get("coursework") or {}).get("student")
    return cells, notes, released_for if isinstance(released_for, str) else None


def repaired_notebook(chapter: str, path: Path, params: dict | None = None) -> nbformat.NotebookNode:
    """A submission that nbgrader's own ``autograde`` (and its formgrader, for the questions graded by
    hand) accepts: of an answer cell that appears several times only the last copy keeps its nbgrader
    metadata (nbgrader stops the whole class on a duplicated id, with a message about an "old metadata
    format"), a copy of any other cell loses it, and cells whose metadata was stripped get it back:
    read-only cells by their source, answers by the names they define, answers graded by hand by
    their position after the question's heading."""
    nb = nbformat.read(str(path), as_version=4)
    reference = assignment_notebook(chapter, ASSIGNMENTS[chapter], params)
    by_id = {c.metadata["nbgrader"]["grade_id"]: c for c in reference.cells}
    by_source = {_normalized(c.source): c for c in reference.cells if c.metadata["nbgrader"]["locked"]}

    def grade_id(cell) -> str | None:
        meta = (cell.get("metadata") or {}).get("nbgrader")
        return meta.get("grade_id") if isinstance(meta, dict) else None

    for cell in nb.cells:  # stripped metadata: read-only cells by their source
        if grade_id(cell) is None and _normalized(cell.source) in by_source:
            cell.metadata["nbgrader"] = copy.deepcopy(by_source[_normalized(cell.source)].metadata["nbgrader"])
    present = {grade_id(c) for c in nb.cells}
    for q in ASSIGNMENTS[chapter]:
        if f"{q.name}-answer" in present:
            continue
        defining = [
            c
            for c in nb.cells
            if c.cell_type == "code" and grade_id(c) is None and set(q.defines) & _defined_names(c.source)
        ]
        if defining:
            defining[-1].metadata["nbgrader"] = copy.deepcopy(by_id[f"{q.name}-answer"].metadata["nbgrader"])
    for m, answer in manual_answers_cells(chapter, nb).items():
        if f"{m}-answer" not in present and grade_id(answer) is None:
            answer.metadata["nbgrader"] = copy.deepcopy(by_id[f"{m}-answer"].metadata["nbgrader"])
    last = {}
    for index, cell in enumerate(nb.cells):
        if grade_id(cell):
            last.setdefault(grade_id(cell), []).append(index)
    for gid, indices in last.items():
        keep = indices[-1] if gid.endswith("-answer") else indices[0]
        for index in indices:
            if index != keep:
                del nb.cells[index].metadata["nbgrader"]
    ids = set()
    for cell in nb.cells:  # unique cell ids too (a pasted cell may repeat one)
        while cell.get("id") in ids:
            cell["id"] = f"{cell['id']}-copy"
        ids.add(cell.get("id"))
    return nb


def find_submissions(folder: Path, chapter: str) -> dict[str, tuple[Path | None, list[str]]]:
    """Student id -> (notebook, notes): ``<student>.ipynb`` files and ``<student>/`` folders."""
    found: dict[str, tuple[Path | None, list[str]]] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            books = sorted(p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            exact = [p for p in books if p.name == f"{chapter}.ipynb"]
            notes = []
            if not books:
                found[entry.name] = (None, [f"no notebook in {entry.name}/"])
                continue
            chosen = exact[0] if exact else max(books, key=lambda p: p.stat().st_mtime)
            if not exact:
                notes.append(f"the notebook is named {chosen.name!r}, not {chapter}.ipynb: graded anyway")
            if len(books) > 1:
                notes.append(f"{len(books)} notebooks in {entry.name}/: graded {chosen.name}")
            found[entry.name] = (chosen, notes)
        elif entry.suffix == ".ipynb":
            found[entry.stem] = (entry, [])
        else:
            student = entry.name.split(".")[0]
            if student not in found:
                found[student] = (entry, [f"the file is named {entry.name!r}, not .ipynb: read as a notebook"])
    return found


def _score(question: Question, inputs: dict, result: dict | None, timeout: float) -> tuple[float, list[str]]:
    """Points and messages of one question from what the student's process sent back."""
    if result is None:
        return 0.0, ["not graded: no result came back (did the notebook's code stop or kill the grading process?)"]
    if "timeout" in result:
        return 0.0, [f"stopped after {timeout:g} s (an endless loop or a very slow cell?)"]
    if "stopped" in result:
        return 0.0, [f"the notebook's code stopped the process that grades it ({result['stopped']})"]
    if "missing" in result:
        return 0.0, [f"{', '.join(result['missing'])} is not defined after running the notebook"]
    if "probe_error" in result:
        return 0.0, [f"calling your answer failed: {result['probe_error']}"]
    earned, messages = 0.0, []
    for check in question.checks:
        try:
            check.test(inputs, result.get("outputs") or {})
        except Wrong as wrong:
            if str(wrong) not in messages:
                messages.append(str(wrong))
        except Exception as err:  # noqa: BLE001 - malformed output from the student's process
            messages.append(f"your answer returned something the grader cannot use ({type(err).__name__})")
        else:
            earned += check.points
    return earned, messages


def grade_class(
    plan: dict[str, dict[str, tuple[Path | None, list[str]]]], timeout: float = 60.0, per_student: bool = False
) -> dict[str, list[dict]]:
    """Grade several assignments at once: ``plan[chapter][student] = (notebook, notes)``; one row per
    student. With ``per_student``, each student is graded with the parameters drawn for the id the
    notebook was released for (its metadata), or for the submission's name where that is missing."""
    tasks, prepared, inputs, chosen = [], {}, {}, {}
    for chapter, students in plan.items():
        for q in ASSIGNMENTS[chapter]:
            inputs[f"{chapter}/{q.name}"] = q.inputs()
        for student, (path, notes) in students.items():
            notes = list(notes)
            try:
                if path is None:
                    raise Unreadable("no notebook")
                cells, more, released_for = student_cells(chapter, path)
            except Unreadable as err:
                prepared[chapter, student] = (path, notes + [str(err)], None)
                continue
            if per_student and released_for is None and parameters(chapter):
                more.append(f"the notebook does not say whom it was released for: graded with {student!r}'s parameters")
            elif per_student and released_for != student and parameters(chapter):
                more.append(
                    f"released for {released_for!r}, submitted as {student!r}: graded with {released_for!r}'s parameters"
                )
            params = parameters(chapter, released_for or student) if per_student else parameters(chapter)
            chosen[chapter, student] = params
            prepared[chapter, student] = (path, notes + more, cells)
            for q in ASSIGNMENTS[chapter]:
                tasks.append(
                    {
                        "key": f"{chapter}/{student}/{q.name}",
                        "question": f"{chapter}/{q.name}",
                        "cells": cells,
                        "params": params,
                    }
                )
    results = run_sandboxed(tasks, inputs, timeout) if tasks else {}
    table: dict[str, list[dict]] = {}
    for (chapter, student), (path, notes, cells) in prepared.items():
        questions = ASSIGNMENTS[chapter]
        row: dict[str, object] = {"student": student, "file": path.name if path else ""}
        messages = list(notes)
        crashed = False
        for q in questions:
            if cells is None:
                row[q.name] = 0.0
                continue
            result = results.get(f"{chapter}/{student}/{q.name}")
            given = {**inputs[f"{chapter}/{q.name}"], "params": chosen[chapter, student]}
            earned, why = _score(q, given, result, timeout)
            crashed |= result is None or "timeout" in result or "stopped" in result or bool(result.get("cell_errors"))
            row[q.name] = earned
            if earned < q.points:
                messages.append(f"{q.name} ({_points(earned)}/{_points(q.points)}): " + "; ".join(why))
            for number, error in (result or {}).get("cell_errors", []):
                note = f"cell {number} raised {error}"
                if note not in messages:
                    messages.append(note)
        row["total"] = sum(row[q.name] for q in questions)
        row["max"] = sum(q.points for q in questions)
        for m in MANUAL.get(chapter, []):
            row[m.name] = ""  # graded by hand, with the sheet that grade() writes
        if MANUAL.get(chapter):
            row["by_hand_max"] = sum(m.points for m in MANUAL[chapter])
        row["status"] = STATUS_NOT_GRADED if cells is None else STATUS_CHECK if notes or crashed else STATUS_OK
        row["messages"] = " | ".join(messages)
        row["parameters"] = json.dumps(chosen.get((chapter, student), {}))
        table.setdefault(chapter, []).append(row)
    return table


def grade(
    chapter: str,
    submissions: Path,
    out: Path,
    timeout: float = 60.0,
    per_student: bool = False,
    nbgrader_course: Path | None = None,
) -> list[dict[str, object]]:
    """Grade every submission of ``chapter`` in ``submissions``; write and return one row per student.
    With ``nbgrader_course``, each readable submission is also put, repaired (see
    :func:`repaired_notebook`), in its ``submitted/<student>/<chapter>/``, for nbgrader's own
    ``autograde`` and formgrader (the questions graded by hand)."""
    if chapter not in ASSIGNMENTS:
        raise SystemExit(f"no assignment {chapter!r}; there are: {', '.join(ASSIGNMENTS)}")
    found = find_submissions(submissions, chapter)
    if not found:
        raise SystemExit(f"no submissions in {submissions}")
    rows = grade_class({chapter: found}, timeout, per_student)[chapter]
    out.parent.mkdir(parents=True, exist_ok=True)
    if MANUAL.get(chapter):
        sheets = out.parent / f"{out.stem}-by-hand"
        sheets.mkdir(exist_ok=True)
        for row in rows:
            path = found[row["student"]][0]
            answers = manual_answers(chapter, path) if path else {}
            params = json.loads(row["parameters"])
            (sheets / f"{row['student']}.md").write_text(rubric(chapter, params, answers))
    for row in rows if nbgrader_course else ():
        path = found[row["student"]][0]
        if row["status"] == STATUS_NOT_GRADED or path is None:
            continue
        target = nbgrader_course / "submitted" / row["student"] / chapter / f"{chapter}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(repaired_notebook(chapter, path, json.loads(row["parameters"])), str(target))
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        if row["status"] != STATUS_OK:
            print(f"{row['student']}: {row['status']}: {row['messages']}", file=sys.stderr)
    print(f"graded {len(rows)} submissions of {chapter!r} into {out}")
    return rows


# ---------------------------------------------------------------------------------------------
# The student's side: one process imports torch and the package once, then forks one child per
# (student, question). The child switches the package's versions off, runs the setup and the
# student's cells, probes the answer and writes JSON to a pipe that only it holds; its stdout and
# stderr go nowhere, so nothing it prints can pass for a result.


def _read_line(fd: int, seconds: float) -> bytes | None:
    """One line from ``fd`` within ``seconds``; None if the writer died or took too long."""
    data, deadline = b"", time.monotonic() + seconds
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return None
        data += chunk
    return data


def run_sandboxed(tasks: list[dict], inputs: dict, timeout: float) -> dict[str, dict | None]:
    """Run ``tasks`` in student processes; return each task's result (None where none came back).

    The process that forks the student processes gets one task at a time on its stdin and answers
    with one line, so a student's process holds no other student's code; if it dies (a student's
    code can kill its parent), a new one takes the remaining tasks."""
    results: dict[str, dict | None] = {}
    needed = {task["question"] for task in tasks}
    probes = {
        f"{chapter}/{q.name}": Probe(q.defines, q.disabled, q.probe)
        for chapter, qs in ASSIGNMENTS.items()
        for q in qs
        if f"{chapter}/{q.name}" in needed
    }
    blob = cloudpickle.dumps((inputs, probes))  # a key's probes by value: the key itself stays here
    pending = list(tasks)
    fork = hasattr(os, "fork")  # without fork, one process per task, which runs the student's code itself
    while pending:
        with tempfile.TemporaryDirectory() as tmp:
            proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "_sandbox", str(timeout)],
                cwd=tmp,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=_environment(),
            )
            try:
                if not fork:  # one task, then the end of the input (no select() on pipes without fork either)
                    task = pending.pop(0)
                    message = len(blob).to_bytes(8, "big") + blob + json.dumps(task).encode() + b"\n"
                    try:
                        out, _ = proc.communicate(message, timeout=timeout + 120)
                        results[task["key"]] = json.loads(out.splitlines()[0])
                    except (subprocess.TimeoutExpired, ValueError, IndexError):
                        results[task["key"]] = None
                    continue
                proc.stdin.write(len(blob).to_bytes(8, "big") + blob)  # the grader's inputs, first
                for task in list(pending):
                    pending.remove(task)
                    try:
                        proc.stdin.write(json.dumps(task).encode() + b"\n")
                        proc.stdin.flush()
                    except OSError:
                        results[task["key"]] = None
                        break
                    line = _read_line(proc.stdout.fileno(), timeout + 120)
                    try:
                        results[task["key"]] = json.loads(line) if line else None
                    except ValueError:
                        results[task["key"]] = None
                    if line is None:
                        break
            except OSError:
                pass
            finally:
                proc.kill()
                proc.wait()
    return results


@dataclass(frozen=True)
class Probe:
    """What a student's process gets of a question: the names the answer must define, the package's
    versions to switch off, and the probe that calls the student's functions (never the references
    or the checks, which stay in the grading process)."""

    defines: tuple[str, ...]
    disabled: tuple[str, ...]
    probe: Callable[[dict, dict], dict]


class SwitchedOff(RuntimeError):
    """Raised by the package's own version of what a question asks, while that question is graded."""


def _switch_off(dotted: str) -> None:
    """Replace the package function, method or property ``dotted`` (and every alias of it in the
    package's modules and their dispatch tables) by one that raises :class:`SwitchedOff`."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
            break
        except ImportError:
            continue
    for name in parts[cut:-1]:
        owner = getattr(owner, name)
    name = parts[-1]
    original = inspect.getattr_static(owner, name)

    def switched_off(*args, **kwargs):
        raise SwitchedOff(f"{dotted} is switched off while this question is graded")

    if isinstance(owner, type):
        setattr(owner, name, property(switched_off) if isinstance(original, property) else switched_off)
        return
    for module in list(sys.modules.values()):
        if not getattr(module, "__name__", "").startswith("ggd_tutorial"):
            continue
        for key, value in list(vars(module).items()):
            if value is original:
                setattr(module, key, switched_off)
            elif isinstance(value, dict):
                for k, v in list(value.items()):
                    if v is original:
                        value[k] = switched_off


class _Overtime(BaseException):
    """A cell or a probe ran past its share of the time (raised by SIGALRM in the student's process)."""


def _on_alarm(signum, frame):
    raise _Overtime()


def _limited(seconds: float):
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01))


def _unlimited() -> None:
    if hasattr(signal, "SIGALRM"):
        signal.setitimer(signal.ITIMER_REAL, 0)


def _python_source(source: str) -> str:
    """IPython syntax (magics, ``!cmd``) as plain Python, as the notebook's kernel would run it."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001
        return source


def _run_task(task: dict, questions: dict, inputs: dict, timeout: float) -> dict:
    """In the student's process: the setup, the student's cells, then the probe."""
    question = questions[task["question"]]
    for dotted in question.disabled:
        _switch_off(dotted)
    namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
    exec(setup_source(task.get("params") or {}), namespace)  # noqa: S102
    errors = []
    for number, source in task["cells"]:
        try:
            code = compile(_python_source(source), f"<cell {number}>", "exec")
            _limited(timeout / 2)
            try:
                exec(code, namespace)  # noqa: S102 - the student's code, in its own process
            finally:
                _unlimited()
        except _Overtime:
            errors.append((number, f"TimeoutError: ran longer than {timeout / 2:g} s"))
        except BaseException as err:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included
            errors.append((number, f"{type(err).__name__}: {str(err)[:200]}"))
    missing = [name for name in question.defines if name not in namespace]
    if missing:
        return {"missing": missing, "cell_errors": errors}
    try:
        _limited(timeout / 2)
        try:
            outputs = question.probe(namespace, inputs[task["question"]])
        finally:
            _unlimited()
    except _Overtime:
        return {"timeout": True, "cell_errors": errors}
    except BaseException as err:  # noqa: BLE001
        return {"probe_error": f"{type(err).__name__}: {str(err)[:200]}", "cell_errors": errors}
    return {"outputs": outputs, "cell_errors": errors}


def _fork_task(task: dict, questions: dict, inputs: dict, timeout: float) -> dict:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the student's process
        try:
            os.setpgid(0, 0)
            os.close(read_end)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            torch.set_num_threads(1)
            try:
                result = _run_task(task, questions, inputs, timeout)
            except BaseException as err:  # noqa: BLE001
                result = {"probe_error": f"{type(err).__name__}: {str(err)[:200]}"}
            data = json.dumps(result).encode()
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view) :]
        finally:
            os._exit(0)
    os.close(write_end)
    chunks, size, deadline, timed_out = [], 0, time.monotonic() + timeout, False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([read_end], [], [], left)
        if not ready:
            continue
        chunk = os.read(read_end, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > 64 << 20:
            break
    os.close(read_end)
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
        except OSError:
            pass
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return {"timeout": True}
    try:
        result = json.loads(b"".join(chunks))
    except ValueError:
        result = None
    if not isinstance(result, dict):
        code = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status
        return {"stopped": f"exit code {code}" if code >= 0 else f"signal {-code}"}
    return result


def sandbox_main(timeout: float) -> int:
    """The process that runs the student's code, ``make_coursework.py _sandbox TIMEOUT``: the inputs
    (length and the pickled inputs and probes), then one task (JSON) per line on stdin; one result per line on
    stdout."""
    import ggd_tutorial  # noqa: F401 - imported once, before any fork
    import ggd_tutorial.book.exercises  # noqa: F401
    import ggd_tutorial.book.experiments  # noqa: F401

    try:
        import IPython.core.inputtransformer2  # noqa: F401 - for _python_source, once
    except ImportError:
        pass
    stdin = sys.stdin.buffer
    inputs, questions = pickle.loads(stdin.read(int.from_bytes(stdin.read(8), "big")))  # from the grader
    answer = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)  # anything else printed here goes nowhere
    for line in iter(stdin.readline, b""):
        task = json.loads(line)
        if hasattr(os, "fork"):
            result = _fork_task(task, questions, inputs, timeout)
        else:
            result = _run_task(task, questions, inputs, timeout)
        answer.write(json.dumps(result) + "\n")
        answer.flush()
        del task, result, line
    return 0


def write_copies(out: Path, launch: str | None = None) -> None:
    count = 0
    for md in book_pages():
        if "{exercise}" not in md.read_text():
            continue
        write(chapter_notebook(md, links(), "book"), out / "instructor" / f"{md.stem}.ipynb", md.stem)
        write(student_notebook(md, launch), out / "student" / f"{md.stem}.ipynb", md.stem)
        count += 1
    write_course(out / "nbgrader")
    print(
        f"wrote student and instructor copies of {count} chapters and {len(ASSIGNMENTS)} nbgrader assignments to {out}"
    )


def _apply_key(argv: list[str]) -> list[str]:
    """Take ``--key PATH`` (or ``--key=PATH``) out of ``argv``, anywhere in it, and apply that key."""
    rest, path = [], None
    items = iter(argv)
    for item in items:
        if item == "--key":
            path = next(items, None)
            if path is None:
                raise SystemExit("--key needs the path of a key file")
        elif item.startswith("--key="):
            path = item.split("=", 1)[1]
        else:
            rest.append(item)
    if path is not None:
        try:
            assignments.load_key(path)
        except ValueError as err:
            raise SystemExit(f"--key: {err}") from err
    return rest


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] != ["_sandbox"]:  # the students' processes never load a key
        argv = _apply_key(argv)
    course_default = ROOT / "coursework" / "nbgrader"
    if argv[:1] == ["release"]:
        parser = argparse.ArgumentParser(prog="make_coursework.py release")
        parser.add_argument("chapters", nargs="*", default=list(ASSIGNMENTS))
        parser.add_argument("--course", type=Path, default=course_default)
        parser.add_argument("--students", nargs="+", default=[], help="one notebook per student, own parameters")
        args = parser.parse_args(argv[1:])
        release(args.course, args.chapters, args.students)
        return 0
    if argv[:1] == ["grade"]:
        parser = argparse.ArgumentParser(prog="make_coursework.py grade")
        parser.add_argument("chapter", choices=list(ASSIGNMENTS))
        parser.add_argument("submissions", type=Path, help="folder of <student>.ipynb files or <student>/ folders")
        parser.add_argument("--csv", type=Path, default=Path("grades.csv"))
        parser.add_argument("--timeout", type=float, default=60.0, help="seconds per student and question")
        parser.add_argument(
            "--per-student", action="store_true", help="each student's own parameters (release --students)"
        )
        parser.add_argument(
            "--nbgrader-course", type=Path, help="also put the repaired submissions in this course's submitted/"
        )
        args = parser.parse_args(argv[1:])
        grade(args.chapter, args.submissions, args.csv, args.timeout, args.per_student, args.nbgrader_course)
        return 0
    if argv[:1] == ["_sandbox"]:
        return sandbox_main(float(argv[1]))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "coursework", help="output folder")
    parser.add_argument(
        "--launch",
        metavar="URL",
        help="GitHub folder the student copies will be published in (https://github.com/OWNER/NAME/blob/REF/FOLDER): "
        "each copy starts with a link that opens it in Colab",
    )
    args = parser.parse_args(argv)
    try:
        colab_url(args.launch, "x") if args.launch else None
    except ValueError as err:
        parser.error(str(err))
    write_copies(args.out, args.launch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
