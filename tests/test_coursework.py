"""Coursework: student and instructor copies, and assignments graded outside the student's kernel.

The fast tests run every question's grading checks in this process on the reference answer (full
marks), the unanswered stub (nothing) and each typical mistake in ``coursework_wrong_answers.py``
(points lost on its own question). The slow test is the instructor's whole path: generate, release
with nbgrader, and grade a class of submissions (correct, wrong, tampering, broken) with the
``grade`` command, whose student code runs in separate processes.
"""

import copy
import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tests"))
from assignments import ASSIGNMENTS, MANUAL, Wrong, encode, parameters, setup_source  # noqa: E402
from colab_notebooks import book_pages  # noqa: E402
from coursework_wrong_answers import BOOK_ANSWERS, CORRECT, TAMPERING, WRONG  # noqa: E402

QUESTIONS = {q.name: (chapter, q) for chapter, qs in ASSIGNMENTS.items() for q in qs}


def test_student_and_instructor_copies(tmp_path):
    """Plain Markdown in both copies; the student's has no solution (text or code), one answer cell
    per exercise (Markdown for pen and paper, code for coding), none of the book's checks, and a
    first cell that opens it in Colab from where it is published."""
    from colab_notebooks import raw_myst

    launch = "https://github.com/someone/course/blob/2027/student"
    tool = [sys.executable, str(ROOT / "tools" / "make_coursework.py"), "--out", str(tmp_path)]
    subprocess.run([*tool, "--launch", launch], check=True)
    assert subprocess.run([*tool, "--launch", "https://example.org/x"], capture_output=True).returncode == 2
    chapters = sorted(p.stem for p in (tmp_path / "student").glob("*.ipynb"))
    assert chapters == sorted(p.stem for p in book_pages() if "{exercise}" in p.read_text())
    assert set(ASSIGNMENTS) <= set(chapters)
    for name in chapters:
        source = (ROOT / "book" / f"{name}.md").read_text()
        student = json.loads((tmp_path / "student" / f"{name}.ipynb").read_text())
        teacher = json.loads((tmp_path / "instructor" / f"{name}.ipynb").read_text())
        for nb in (student, teacher):
            md = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
            assert raw_myst(md) == [], (name, raw_myst(md)[:3])
        s_text = "\n".join("".join(c["source"]) for c in student["cells"])
        t_text = "\n".join("".join(c["source"]) for c in teacher["cells"])
        n_ex = source.count("{exercise}")
        assert n_ex >= 2 and s_text.count("#### Exercise ") == n_ex == t_text.count("#### Exercise ")
        assert t_text.count("#### Solution to exercise ") == n_ex and "Solution to exercise" not in s_text
        solution_code, other_code = _solution_cells(ROOT / "book" / f"{name}.md")
        assert ("{solution-start}" in source) == bool(solution_code)
        shared = {line.strip() for c in other_code for line in c.splitlines()}  # lines also outside the solutions
        leaked = {line.strip() for c in solution_code for line in c.splitlines() if len(line.strip()) > 20} - shared
        lines = lambda text: {line.strip() for line in text.splitlines()}  # noqa: E731
        assert not leaked & lines(s_text), (name, sorted(leaked & lines(s_text))[:3])
        assert leaked <= lines(t_text), name
        check_call = re.compile(r"\blv\.(check|check_measure|assert_level)\(")
        assert not check_call.search(s_text) and bool(check_call.search(source)) == bool(check_call.search(t_text))
        answers = [c for c in student["cells"] if "answer" in c["metadata"].get("tags", [])]
        pen = source.count("*Pen and paper")
        assert len(answers) >= n_ex and sum(c["cell_type"] == "markdown" for c in answers) == pen
        assert f"{launch.replace('https://github.com/', 'https://colab.research.google.com/github/')}/{name}.ipynb" in (
            "".join(student["cells"][1]["source"])
        )
    for path in (tmp_path / "nbgrader" / "source").glob("*/*.ipynb"):  # the assignments' prompts too
        cells = json.loads(path.read_text())["cells"]
        assert not [x for c in cells if c["cell_type"] == "markdown" for x in raw_myst("".join(c["source"]))], path.name


def _solution_cells(md: Path) -> tuple[list[str], list[str]]:
    """The code cells of a chapter inside its gated solutions, and the others (read from the source)."""
    import jupytext

    inside, solutions, others = False, [], []
    for cell in jupytext.read(md).cells:
        if cell.cell_type == "markdown":
            marks = re.findall(r"\{solution-(start|end)\}", cell.source)
            inside = marks[-1] == "start" if marks else inside
        elif not cell.source.lstrip().startswith("# Check") or not inside:
            (solutions if inside else others).append(cell.source)
    return solutions, others


def answer(question) -> str:
    """The reference answer cell without nbgrader's solution markers."""
    return "\n".join(line for line in question.solution.splitlines() if "### " not in line)


def stub(question) -> str:
    return re.sub(
        r"### BEGIN SOLUTION.*?### END SOLUTION", "raise NotImplementedError()", question.solution, flags=re.S
    )


def score_here(question, source: str, student: str | None = None) -> tuple[float, list[str]]:
    """Grade one answer cell in this process (no switching off, no tampering): the checks alone,
    with the book's parameters or those of ``student``."""
    params = parameters(QUESTIONS[question.name][0], student)
    namespace: dict = {}
    exec(setup_source(params), namespace)  # noqa: S102 - the assignments' own code
    try:
        exec(source, namespace)  # noqa: S102
    except Exception:  # noqa: BLE001 - an unanswered stub raises at top level
        pass
    inputs = {**question.inputs(), "params": params}
    if any(name not in namespace for name in question.defines):
        return 0.0, ["not defined"]
    outputs = json.loads(json.dumps(question.probe(namespace, inputs)))  # what travels between the processes
    earned, messages = 0.0, []
    for check in question.checks:
        try:
            check.test(inputs, outputs)
            earned += check.points
        except Wrong as wrong:
            messages.append(str(wrong))
    return earned, messages


@pytest.mark.parametrize("name", list(QUESTIONS))
def test_reference_answers_get_full_marks_and_stubs_nothing(name):
    chapter, q = QUESTIONS[name]
    assert q.points > 0 and len(q.checks) >= 2 and "### BEGIN SOLUTION" in q.solution
    assert score_here(q, answer(q)) == (q.points, [])
    assert score_here(q, stub(q))[0] == 0
    if name in CORRECT:  # a different, right answer
        assert score_here(q, CORRECT[name]) == (q.points, [])
    # the public check the student sees passes on the reference and fails on the stub
    for student in (None, "alice"):
        setup = setup_source(parameters(chapter, student))
        namespace: dict = {}
        for source in (setup, answer(q), q.public):
            exec(source, namespace)  # noqa: S102
        with pytest.raises((NotImplementedError, AssertionError)):
            namespace = {}
            for source in (setup, stub(q), q.public):
                exec(source, namespace)  # noqa: S102
    # with a student's own parameters the reference still gets full marks; the book's answer does not
    for student in ("alice", "bob"):
        assert score_here(q, answer(q), student) == (q.points, [])
        if name in CORRECT:
            assert score_here(q, CORRECT[name], student) == (q.points, [])
        if name in BOOK_ANSWERS:
            assert score_here(q, BOOK_ANSWERS[name]) == (q.points, [])
            assert score_here(q, BOOK_ANSWERS[name], student)[0] < q.points


def test_students_draw_different_parameters_and_the_book_keeps_its_own():
    for chapter in ASSIGNMENTS:
        assert parameters(chapter, "alice") == parameters(chapter, "alice")  # reproducible from the id
    drawn = [
        parameters(chapter, "alice") != parameters(chapter, "bob") for chapter in ASSIGNMENTS if parameters(chapter)
    ]
    assert len(drawn) >= 4 and sum(drawn) >= 3  # a small set of values: two students may share one
    assert parameters("gradient_dynamics") == {"a": 1.0} and parameters("structure") == {"stride": 1}


@pytest.mark.parametrize("name", list(QUESTIONS))
def test_every_typical_mistake_loses_points_with_a_message_that_does_not_give_the_answer(name):
    chapter, q = QUESTIONS[name]
    assert len(WRONG[name]) >= 4, "every question has a set of typical mistakes"
    for label, source in WRONG[name]:
        earned, messages = score_here(q, source)
        assert earned < q.points, (name, label)
        assert messages, (name, label)
        for reference_line in answer(q).splitlines():  # no message quotes the reference code
            if len(reference_line.strip()) > 25:
                assert all(reference_line.strip() not in m for m in messages)


def test_outputs_are_plain_data():
    import torch

    assert encode(torch.ones(2)) == {"tensor": [1.0, 1.0]}
    assert encode((1, torch.zeros(1))) == {"items": [{"number": 1.0}, {"tensor": [0.0]}]}
    assert encode(object()) == {"type": "object"}


#: Chapters whose coding exercises have no graded assignment yet (none: every such chapter has one).
WITHOUT_ASSIGNMENT: set[str] = set()


def test_every_chapter_with_coding_exercises_has_an_assignment():
    chapters = {p.stem for p in book_pages() if "*Coding" in p.read_text()}
    assert chapters - WITHOUT_ASSIGNMENT <= set(ASSIGNMENTS)
    assert WITHOUT_ASSIGNMENT <= chapters - set(ASSIGNMENTS), "an exemption that is no longer needed"


# ---------------------------------------------------------------------------------------------
# The instructor's path


def _with_answers(released: dict, answers: dict[str, str]) -> dict:
    notebook = copy.deepcopy(released)
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        if grade_id.endswith("-answer") and grade_id[: -len("-answer")] in answers:
            cell["source"] = answers[grade_id[: -len("-answer")]]
    return notebook


def _class(chapter: str, released: dict) -> dict[str, tuple[dict, set[str]]]:
    """Submissions of one chapter: name -> (notebook, the questions it answers wrongly)."""
    questions = ASSIGNMENTS[chapter]
    correct = {q.name: answer(q) for q in questions}
    subs = {"correct": (_with_answers(released, correct), set()), "blank": (released, {q.name for q in questions})}
    alternative = {q.name: CORRECT[q.name] for q in questions if q.name in CORRECT}
    if alternative:
        subs["other-correct"] = (_with_answers(released, {**correct, **alternative}), set())
    for k in range(max(len(WRONG[q.name]) for q in questions)):
        wrong = {q.name: WRONG[q.name][k % len(WRONG[q.name])][1] for q in questions}
        subs[f"wrong-{k + 1}"] = (_with_answers(released, wrong), set(wrong))
    for k in range(max(len(TAMPERING.get(q.name, [])) for q in questions)):
        tampered = {q.name: TAMPERING[q.name][k % len(TAMPERING[q.name])][1] for q in questions if q.name in TAMPERING}
        subs[f"tampering-{k + 1}"] = (_with_answers(released, {**correct, **tampered}), set(tampered))
    return subs


def _write(path: Path, notebook: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook))
    return path


@pytest.mark.slow
def test_generate_release_and_grade_a_class(tmp_path):
    """Generate, release with nbgrader (by a python that is not on PATH, as from a virtual environment
    that is not activated), and grade: the correct submissions get full marks, every wrong or tampering
    answer loses its own question's points and no other's, and broken notebooks get a clear row."""
    tool = [sys.executable, str(ROOT / "tools" / "make_coursework.py")]
    subprocess.run([*tool, "--out", str(tmp_path / "cw")], check=True)
    course = tmp_path / "cw" / "nbgrader"
    bin_dir = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != bin_dir)
    subprocess.run(
        [*tool, "release", "--course", str(course), "--students", "alice", "bob"],
        check=True,
        env={**os.environ, "PATH": path},
    )
    released = {}
    for chapter, questions in ASSIGNMENTS.items():
        text = (course / "release" / chapter / f"{chapter}.ipynb").read_text()
        for q in questions:
            solution = q.solution.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
            body = [line.strip() for line in solution.splitlines() if len(line.strip()) > 25]
            assert not any(line in text for line in body), (chapter, q.name)  # no reference answer in the release
        for m in MANUAL.get(chapter, []):  # nor a model answer of a question graded by hand
            assert m.model[:40] not in text and m.model[:40] in (course / "rubrics" / f"{chapter}.md").read_text()
        released[chapter] = json.loads(text)

    # The grade command on one chapter: the submissions an instructor meets besides right and wrong ones.
    chapter = "kinetics"
    base = _with_answers(
        released[chapter], {**{q.name: answer(q) for q in ASSIGNMENTS[chapter]}, "wegscheider": "My derivation."}
    )
    subs = tmp_path / "kinetics-submissions"
    _write(subs / "alice.ipynb", base)
    duplicated = copy.deepcopy(base)
    index = next(i for i, c in enumerate(duplicated["cells"]) if "rate-constants-answer" in json.dumps(c["metadata"]))
    twin = copy.deepcopy(duplicated["cells"][index])
    twin["id"] = "pasted-copy"
    duplicated["cells"].insert(index + 1, twin)
    _write(subs / "bob.ipynb", duplicated)
    stripped = copy.deepcopy(base)
    for cell in stripped["cells"]:
        cell["metadata"] = {}
    _write(subs / "carol.ipynb", stripped)
    _write(subs / "dave" / "Copy of kinetics.ipynb", base)  # a renamed file in the student's folder
    crashing = copy.deepcopy(base)
    crashing["cells"].append({**copy.deepcopy(twin), "id": "exit", "metadata": {}, "source": "import os\nos._exit(3)"})
    _write(subs / "erin.ipynb", crashing)
    raising = copy.deepcopy(base)
    raising["cells"].insert(3, {**copy.deepcopy(twin), "id": "oops", "metadata": {}, "source": "1 / 0"})
    _write(subs / "frank.ipynb", raising)
    (subs / "grace.ipynb").write_text("{ this is not a notebook")
    grades = tmp_path / "grades.csv"
    for _ in range(2):  # grading again needs no cleanup and gives the same rows
        subprocess.run(
            [*tool, "grade", chapter, str(subs), "--csv", str(grades), "--nbgrader-course", str(course)], check=True
        )
        rows = {r["student"]: r for r in csv.DictReader(grades.open())}
        points = {s: (float(r["rate-constants"]), float(r["analytic-production"])) for s, r in rows.items()}
        assert points == {
            "alice": (3, 2),
            "bob": (3, 2),
            "carol": (3, 2),
            "dave": (3, 2),
            "erin": (0, 0),
            "frank": (3, 2),
            "grace": (0, 0),
        }
        status = {s: r["status"] for s, r in rows.items()}
        assert status == {s: "check" for s in rows} | {"alice": "ok", "grace": "not graded"}
        assert rows["alice"]["messages"] == ""
        assert "appears 2 times" in rows["bob"]["messages"]
        assert "metadata is missing" in rows["carol"]["messages"]
        assert "Copy of kinetics.ipynb" in rows["dave"]["messages"]
        assert "stopped the process" in rows["erin"]["messages"] and "exit code 3" in rows["erin"]["messages"]
        assert "ZeroDivisionError" in rows["frank"]["messages"]
        assert "not a readable notebook" in rows["grace"]["messages"]
        assert {r["max"] for r in rows.values()} == {"5"} and {r["by_hand_max"] for r in rows.values()} == {"3"}
        assert {r["wegscheider"] for r in rows.values()} == {""}  # for the instructor, with the sheets:
        for student in ("alice", "carol"):  # found by its metadata, and by its position when that is gone
            sheet = (tmp_path / "grades-by-hand" / f"{student}.md").read_text()
            assert "My derivation." in sheet and "Rubric" in sheet

    # The repaired copies for nbgrader's own tools: one copy of each id, stripped metadata put back; its
    # autograde, which stops the class on a duplicated cell, accepts the duplicated notebook.
    for student in ("bob", "carol"):
        repaired = json.loads((course / "submitted" / student / chapter / f"{chapter}.ipynb").read_text())
        ids = [c["metadata"]["nbgrader"]["grade_id"] for c in repaired["cells"] if "nbgrader" in c["metadata"]]
        assert len(ids) == len(set(ids)) and {"rate-constants-answer", "wegscheider-answer", "setup"} <= set(ids)
    assert not (course / "submitted" / "grace").exists()
    nbgrader = [sys.executable, "-m", "nbgrader", "autograde", chapter, "--student", "bob", "--create", "--force"]
    subprocess.run(nbgrader, cwd=course, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        assert gradebook.find_grade("wegscheider-answer", chapter, chapter, "bob").max_score == 3

    # Every chapter: correct, other correct, blank, wrong and tampering submissions, graded as one class.
    import make_coursework

    plan, expected = {}, {}
    for chapter in ASSIGNMENTS:
        plan[chapter] = {}
        for student, (notebook, wrong) in _class(chapter, released[chapter]).items():
            plan[chapter][student] = (_write(tmp_path / "class" / chapter / f"{student}.ipynb", notebook), [])
            expected[chapter, student] = wrong
    looping = _with_answers(released["structure"], {"noise-mse": answer(ASSIGNMENTS["structure"][0])})
    looping["cells"].insert(3, {**copy.deepcopy(twin), "id": "loop", "metadata": {}, "source": "while True:\n    pass"})
    plan["structure"]["endless-loop"] = (_write(tmp_path / "class" / "loop.ipynb", looping), [])
    table = make_coursework.grade_class(plan, timeout=6)
    matrix = []
    for chapter, rows in table.items():
        for row in rows:
            matrix.append(
                f"{chapter + '/' + row['student']:<46}"
                + " ".join(f"{q.name}={row[q.name]:g}/{q.points:g}" for q in ASSIGNMENTS[chapter])
                + f"  [{row['status']}]"
            )
            if row["student"] == "endless-loop":
                assert row["noise-mse"] == 2 and row["status"] == "check" and "TimeoutError" in row["messages"]
                continue
            wrong = expected[chapter, row["student"]]
            for q in ASSIGNMENTS[chapter]:
                if q.name in wrong:
                    assert row[q.name] < q.points, (chapter, row["student"], q.name, row["messages"])
                else:
                    assert row[q.name] == q.points, (chapter, row["student"], q.name, row["messages"])
            if not wrong:
                assert row["status"] == "ok" and row["messages"] == "", row

    # Per-student parameters: alice and bob get notebooks of their own, each graded for its parameters;
    # the book's answers, right for the book's parameters, lose those questions.
    plan, setups = {}, {}
    for chapter, questions in ASSIGNMENTS.items():
        if not parameters(chapter):
            continue
        plan[chapter] = {}
        for student in ("alice", "bob"):
            notebook = json.loads((course / "personal" / chapter / student / f"{chapter}.ipynb").read_text())
            assert notebook["metadata"]["coursework"]["student"] == student
            setups[chapter, student] = next(
                "".join(c["source"]) for c in notebook["cells"] if "PARAMS" in "".join(c["source"])
            )
            right = _with_answers(notebook, {q.name: answer(q) for q in questions})
            plan[chapter][student] = (_write(tmp_path / "personal" / chapter / f"{student}.ipynb", right), [])
            if student == "alice":
                book = _with_answers(right, {q: a for q, a in BOOK_ANSWERS.items() if q in {x.name for x in questions}})
                plan[chapter]["alice-book"] = (_write(tmp_path / "personal" / chapter / "alice-book.ipynb", book), [])
    assert sum(setups[c, "alice"] != setups[c, "bob"] for c in plan) >= 3  # the two students' parameters differ
    for chapter, rows in make_coursework.grade_class(plan, timeout=20, per_student=True).items():
        for row in rows:
            matrix.append(
                f"{chapter + '/' + row['student'] + ' (own parameters)':<46}"
                + " ".join(f"{q.name}={row[q.name]:g}/{q.points:g}" for q in ASSIGNMENTS[chapter])
                + f"  [{row['status']}] {row['parameters']}"
            )
            assert json.loads(row["parameters"]) == parameters(chapter, "alice" if "alice" in row["student"] else "bob")
            for q in ASSIGNMENTS[chapter]:
                if row["student"] == "alice-book" and q.name in BOOK_ANSWERS:
                    assert row[q.name] < q.points, (chapter, q.name)
                else:
                    assert row[q.name] == q.points, (chapter, row["student"], q.name, row["messages"])
            assert row["status"] == ("check" if row["student"] == "alice-book" else "ok"), row
    print("\n".join(["", "grading matrix (submission: question=points/max):", *matrix]))


# ---------------------------------------------------------------------------------------------
# The graded questions are not the book's solved exercises: the book is open, and its solutions too.

from coursework_wrong_answers import WRONG_FOR_OWN_PARAMETERS  # noqa: E402


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _solution_body(question) -> str:
    return question.solution.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]


def _read_parameters(question) -> set[str]:
    return set(re.findall(r"PARAMS\[['\"](\w+)['\"]\]", _solution_body(question)))


def _per_student(chapter: str, question) -> bool:
    """The reference reads from ``PARAMS`` a parameter that no student draws at the book's value, and
    the book's answer is in ``BOOK_ANSWERS`` (so the tests check that copying the book loses)."""
    declared = {n: spec for q in [*ASSIGNMENTS.get(chapter, []), question] for n, spec in q.parameters.items()}
    drawn_apart = {n for n, (book, choices) in declared.items() if book not in choices}
    return question.name in BOOK_ANSWERS and bool(_read_parameters(question) & drawn_apart)


def copied_from_book(chapter: str, question, books: dict[str, str]) -> list[str]:
    """The lines of the reference solution (more than 15 characters without whitespace) that appear in
    the book (whitespace removed), unless the question is per student (see :func:`_per_student`)."""
    if _per_student(chapter, question):
        return []
    lines = [line.strip() for line in _solution_body(question).splitlines() if len(_squeezed(line)) > 15]
    return [line for line in lines if any(_squeezed(line) in text for text in books.values())]


def _solved_code(markdown: str) -> list[str]:
    """The code lines of the book's solutions (``solution-start`` ... ``solution-end`` and ``{solution}`` blocks)."""
    lines, inside, code = [], None, False
    for line in markdown.splitlines():
        if inside is None:
            if line.startswith("```{solution-start}"):
                inside = "```{solution-end}"
            elif line.startswith("````{solution}"):
                inside = "````"
            continue
        if line.startswith(inside) and not code:
            inside = None
        elif line.startswith("```"):
            code = not code if line.strip() == "```" or line.startswith(("```{code-cell}", "```python")) else code
        elif code and len(_squeezed(line)) > 15:
            lines.append(line)
    return lines


def test_no_graded_question_is_answered_by_the_books_solutions():
    """No reference solution of a graded question is in the book, unless it reads a parameter that each
    student draws apart from the book's and the book's answer is one that must lose (``BOOK_ANSWERS``).
    The check finds a line of the book's solutions put in a question, whatever its spacing."""
    import dataclasses

    books = {p.name: _squeezed(p.read_text()) for p in book_pages()}
    copied = {
        q.name: lines
        for chapter, qs in ASSIGNMENTS.items()
        for q in qs
        if (lines := copied_from_book(chapter, q, books))
    }
    assert copied == {}, copied

    # Negative control: questions whose solution is a line of the book's solutions are caught.
    solved = [line for p in book_pages() for line in _solved_code(p.read_text())]
    assert len(solved) > 50
    template = QUESTIONS["noise-mse"][1]
    for line in (solved[0], solved[len(solved) // 2], solved[-1]):
        for spelled in (line, line.replace(" ", ""), "  ".join(line.split())):
            source = f"def f():\n    ### BEGIN SOLUTION\n    {spelled.strip()}\n    ### END SOLUTION"
            fake = dataclasses.replace(template, name="copied", solution=source)
            assert copied_from_book("structure", fake, books) == [spelled.strip()]
    # ... also when it reads a student's parameter but the book's answer is not known to lose,
    with_params = (
        f"def f():\n    ### BEGIN SOLUTION\n    s = PARAMS['stride']\n    {solved[0].strip()}\n    ### END SOLUTION"
    )
    assert copied_from_book("structure", dataclasses.replace(template, name="copied", solution=with_params), books)
    # ... or when the parameter it reads may be drawn at the book's value;
    shared = dataclasses.replace(template, solution=with_params, parameters={"stride": (1, (1, 2))})
    assert copied_from_book("gradient_dynamics", shared, books)
    # and a question drawn per student, whose book answer is in BOOK_ANSWERS, passes.
    assert copied_from_book("structure", dataclasses.replace(template, solution=with_params), books) == []


def _score_with(question, source: str, params: dict) -> tuple[float, list[str]]:
    """``score_here`` with the given parameters."""
    namespace: dict = {}
    exec(setup_source(params), namespace)  # noqa: S102 - the assignments' own code
    try:
        exec(source, namespace)  # noqa: S102
    except Exception:  # noqa: BLE001
        return 0.0, ["the answer cell raised"]
    inputs = {**question.inputs(), "params": params}
    if any(name not in namespace for name in question.defines):
        return 0.0, ["not defined"]
    outputs = json.loads(json.dumps(question.probe(namespace, inputs)))
    earned, messages = 0.0, []
    for check in question.checks:
        try:
            check.test(inputs, outputs)
            earned += check.points
        except Wrong as wrong:
            messages.append(str(wrong))
    return earned, messages


@pytest.mark.parametrize("name", sorted((set(BOOK_ANSWERS) | set(WRONG_FOR_OWN_PARAMETERS)) & set(QUESTIONS)))
def test_the_books_answer_and_mistakes_seen_only_with_own_parameters_lose_for_every_draw(name):
    """For every value a student may draw of the parameters the reference reads (the others at
    alice's), the reference gets full marks, and the book's answer and the mistakes that the book's
    parameters hide lose the question, with messages that do not quote the reference."""
    import itertools

    chapter, q = QUESTIONS[name]
    choices = {n: c for x in ASSIGNMENTS[chapter] for n, (_, c) in x.parameters.items()}
    read = sorted(_read_parameters(q))
    assert read and set(read) <= set(choices), "the question reads a parameter of its own"
    assert name in BOOK_ANSWERS and (name not in WRONG_FOR_OWN_PARAMETERS or len(WRONG_FOR_OWN_PARAMETERS[name]) >= 3)
    losing = [("the book's answer", BOOK_ANSWERS[name]), *WRONG_FOR_OWN_PARAMETERS.get(name, [])]
    reference_lines = [line.strip() for line in answer(q).splitlines() if len(line.strip()) > 25]
    for values in itertools.product(*(choices[n] for n in read)):
        params = {**parameters(chapter, "alice"), **dict(zip(read, values))}
        assert _score_with(q, answer(q), params) == (q.points, []), params
        for label, source in losing:
            earned, messages = _score_with(q, source, params)
            assert earned < q.points and messages, (label, params)
            assert not any(line in m for line in reference_lines for m in messages), (label, messages)


# ---------------------------------------------------------------------------------------------
# The instructor's key: questions kept out of the repository, which the students' processes never see.

KEY = ROOT / "tools" / "key_example.py"
#: An answer that looks for the key's reference where the student's code runs.
READS_THE_KEY = """\
def onsager_velocity(y):
    import gc, os, sys, types
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType) and obj.__name__ == "_onsager_reference":
            return obj(y, PARAMS["m"])
    key = sys.modules.get("coursework_key") or os.environ.get("GGD_COURSEWORK_KEY")
    return key._onsager_reference(y, PARAMS["m"])
"""


def _with_assignments(code: str) -> str:
    """What ``code`` prints, run in a fresh process with ``torch`` and ``assignments as a`` imported
    (a key loaded there changes nothing in this process)."""
    head = "import sys, torch; sys.path[:0] = ['tools', 'tests']; import assignments as a\n"
    return subprocess.run(
        [sys.executable, "-c", head + code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def _setup_params(notebook: dict) -> dict:
    import ast

    source = next("".join(c["source"]) for c in notebook["cells"] if "PARAMS =" in "".join(c["source"]))
    return ast.literal_eval(source.split("PARAMS =", 1)[1].split("#")[0].strip())


@pytest.mark.slow
def test_an_instructor_key_adds_replaces_withdraws_and_salts_and_stays_in_the_grader(tmp_path):
    """With ``--key``: the key's question is released (without its answer), the withdrawn one is gone,
    the salt changes the draws, the key's answer gets full marks for the student's own parameters, the
    book's value loses, and an answer that hunts for the key's reference in its process finds nothing."""
    import importlib

    key = importlib.import_module("key_example")
    onsager = key.QUESTIONS["gradient_dynamics"][0]
    chapter = "gradient_dynamics"
    tool = [sys.executable, str(ROOT / "tools" / "make_coursework.py"), "--key", str(KEY)]
    subprocess.run([*tool, "--out", str(tmp_path / "cw")], check=True)
    course = tmp_path / "cw" / "nbgrader"
    subprocess.run([*tool, "release", chapter, "--course", str(course), "--students", "alice", "bob"], check=True)
    released = (course / "release" / chapter / f"{chapter}.ipynb").read_text()
    ids = {c["metadata"].get("nbgrader", {}).get("grade_id") for c in json.loads(released)["cells"]}
    assert {"cosh-dual-answer", "onsager-velocity-answer"} <= ids and "entropy-production-answer" not in ids
    assert "y @ M" not in released and "### BEGIN SOLUTION" not in released

    draws = "public = [a.parameters('gradient_dynamics', f's{i}')['a'] for i in range(30)]\n" + (
        "a.load_key('tools/key_example.py')\n"
        "print(public != [a.parameters('gradient_dynamics', f's{i}')['a'] for i in range(30)])"
    )
    assert _with_assignments(draws) == "True"  # the salt gives other draws

    personal = {
        s: json.loads((course / "personal" / chapter / s / f"{chapter}.ipynb").read_text()) for s in ("alice", "bob")
    }
    cosh = answer(ASSIGNMENTS[chapter][0])
    subs = tmp_path / "subs"
    _write(
        subs / "alice.ipynb", _with_answers(personal["alice"], {"cosh-dual": cosh, "onsager-velocity": answer(onsager)})
    )
    book_value = answer(onsager).replace("PARAMS['m']", "1.0")  # the book's m, which no student draws
    _write(subs / "bob.ipynb", _with_answers(personal["bob"], {"cosh-dual": cosh, "onsager-velocity": book_value}))
    _write(
        subs / "carol.ipynb", _with_answers(personal["alice"], {"cosh-dual": cosh, "onsager-velocity": READS_THE_KEY})
    )
    grades = tmp_path / "grades.csv"
    subprocess.run([*tool, "grade", chapter, str(subs), "--csv", str(grades), "--per-student"], check=True)
    rows = {r["student"]: r for r in csv.DictReader(grades.open())}
    assert "entropy-production" not in rows["alice"]
    assert {s: float(r["onsager-velocity"]) for s, r in rows.items()} == {"alice": 3, "bob": 0, "carol": 0}
    assert {s: float(r["cosh-dual"]) for s, r in rows.items()} == {"alice": 3, "bob": 3, "carol": 3}
    assert json.loads(rows["alice"]["parameters"]) == _setup_params(personal["alice"])
    assert "scale of M" in rows["bob"]["messages"] and "onsager_velocity(y) raised" in rows["carol"]["messages"]
    control = "from test_coursework import READS_THE_KEY\na.load_key('tools/key_example.py')\n" + (
        "ns = {'PARAMS': {'m': 2.0}}; exec(READS_THE_KEY, ns)\n"
        "print(ns['onsager_velocity'](torch.ones(1, 2, dtype=torch.float64)).tolist())"
    )
    assert _with_assignments(control) == "[[2.0, 2.0]]"  # negative control: where the key is, that answer finds it

    # A key that names what does not exist is refused with a message, before anything is written.
    bad = tmp_path / "bad_key.py"
    bad.write_text("WITHDRAW = {'gradient_dynamics': ['no-such-question']}\n")
    for key_path, message in ((bad, "no-such-question"), (tmp_path / "missing.py", "no key file")):
        run = subprocess.run(
            [*tool[:2], "--key", str(key_path), "--out", str(tmp_path / "x")], capture_output=True, text=True
        )
        assert run.returncode != 0 and message in run.stderr and not (tmp_path / "x").exists()
