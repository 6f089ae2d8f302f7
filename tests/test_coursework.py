"""Student copies hide every solution and leave an answer stub; instructor copies keep them."""
import json
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
