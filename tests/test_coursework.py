"""Student copies hide every solution and leave an answer stub; instructor copies keep them."""

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_student_and_instructor_copies(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "tools" / "make_coursework.py"), "--out", str(tmp_path)], check=True)
    chapters = sorted(p.stem for p in (tmp_path / "student").glob("*.ipynb"))
    assert chapters == ["diffusion", "gradient_dynamics", "icnn", "kinetics", "overdamped", "own_system", "structure"]
    for name in chapters:
        student = json.loads((tmp_path / "student" / f"{name}.ipynb").read_text())
        teacher = json.loads((tmp_path / "instructor" / f"{name}.ipynb").read_text())
        s_text = "".join("".join(c["source"]) for c in student["cells"])
        t_text = "".join("".join(c["source"]) for c in teacher["cells"])
        n_ex = t_text.count("{exercise}")
        assert n_ex >= 2
        assert t_text.count("{solution}") == n_ex
        assert "{solution}" not in s_text and s_text.count("{exercise}") == n_ex
        stubs = [c for c in student["cells"] if c["cell_type"] == "code" and "your answer here" in "".join(c["source"])]
        assert len(stubs) == n_ex


sys.path.insert(0, str(ROOT / "tools"))
import pytest  # noqa: E402
from assignments import ASSIGNMENTS, SETUP  # noqa: E402


def _run(*sources: str) -> None:
    namespace: dict = {}
    for source in (SETUP, *sources):
        exec(source, namespace)  # noqa: S102 - the assignments' own code


@pytest.mark.parametrize("chapter", list(ASSIGNMENTS))
def test_reference_answers_pass_and_missing_answers_fail(chapter):
    assert ASSIGNMENTS[chapter], "every chapter with an assignment has questions"
    for q in ASSIGNMENTS[chapter]:
        assert q.points > 0 and q.hidden.strip() and "assert" in q.public and "assert" in q.hidden
        assert "### BEGIN SOLUTION" in q.solution and "### END SOLUTION" in q.solution
        _run(q.solution, q.public, q.hidden)
        stub = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "raise NotImplementedError()", q.solution, flags=re.S)
        with pytest.raises((NotImplementedError, AssertionError)):
            _run(stub, q.public)


def test_every_chapter_with_coding_exercises_has_an_assignment():
    chapters = {p.stem for p in (ROOT / "book").glob("*.md") if "*Coding" in p.read_text()}
    assert chapters <= set(ASSIGNMENTS)


def _answer_replaced(notebook: dict, old: str, new: str) -> dict:
    hits = [c for c in notebook["cells"] if old in "".join(c["source"])]
    assert len(hits) == 1
    hits[0]["source"] = "".join(hits[0]["source"]).replace(old, new)
    return notebook


@pytest.mark.slow
def test_nbgrader_grades_full_marks_and_docks_exactly_the_wrong_question(tmp_path):
    """The grading command on four submissions: the reference, a swapped rate (public test catches it),
    a wrong entropy production that passes the public test (only the hidden test catches it), and the
    released notebook left unanswered."""
    tool = [sys.executable, str(ROOT / "tools" / "make_coursework.py")]
    subprocess.run([*tool, "--out", str(tmp_path / "cw")], check=True)
    course = tmp_path / "cw" / "nbgrader"
    reference = json.loads((course / "source" / "kinetics" / "kinetics.ipynb").read_text())
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.ipynb").write_text(json.dumps(reference))
    swapped = _answer_replaced(
        json.loads(json.dumps(reference)),
        "torch.exp(-a), W0 / 4 * torch.exp(a)",
        "torch.exp(a), W0 / 4 * torch.exp(-a)",
    )
    (subs / "bob.ipynb").write_text(json.dumps(swapped))
    plausible = _answer_replaced(
        json.loads(json.dumps(reference)),
        "(system.conjugate(c) * system.velocity(c)).sum(-1)",
        "(system.conjugate(c) ** 2).sum(-1)",
    )
    (subs / "carol.ipynb").write_text(json.dumps(plausible))
    subprocess.run([*tool, "release", "kinetics", "--course", str(course)], check=True)
    released = (course / "release" / "kinetics" / "kinetics.ipynb").read_text()
    assert "HIDDEN" not in released and "Wegscheider" not in released and "torch.exp(-a)" not in released
    (subs / "dave.ipynb").write_text(released)
    grades = tmp_path / "grades.csv"
    subprocess.run([*tool, "grade", "kinetics", str(subs), "--course", str(course), "--csv", str(grades)], check=True)
    rows = {r["student"]: r for r in csv.DictReader(grades.open())}
    score = {
        s: (float(r["rate-constants"]), float(r["analytic-production"]), float(r["total"])) for s, r in rows.items()
    }
    assert score == {"alice": (3, 2, 5), "bob": (0, 2, 2), "carol": (3, 0, 3), "dave": (0, 0, 0)}
    assert {r["max"] for r in rows.values()} == {"5"}
