"""A chapter notebook runs in a fresh virtual environment in which only the project was pip-installed.

This is what a Colab user gets: a runtime with torch and a Jupyter kernel, plus ``pip install`` of
the project. The notebook is executed outside the repository, so it cannot read repository files
or import the package from the source tree. Set GGD_SKIP_FRESH_VENV=1 to skip it where creating a
virtual environment is not possible (CI always runs it).
"""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "gradient_dynamics"  # the theory chapter: plots and ipywidgets, no long training

EXECUTE = """
import sys, nbformat, nbclient
nb = nbformat.read(sys.argv[1], as_version=4)
nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                        resources={"metadata": {"path": sys.argv[2]}}).execute()
print("\\n".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream"))
"""


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.skipif(os.environ.get("GGD_SKIP_FRESH_VENV") == "1", reason="GGD_SKIP_FRESH_VENV=1")
def test_generated_notebook_runs_after_only_pip_install(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "JUPYTER_PATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    def pip(*args):
        result = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *args], env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr

    # What a Colab runtime already has: torch (this version, so no other build is pulled) and a kernel.
    pip(f"torch=={torch.__version__.split('+')[0]}", "ipykernel", "nbclient")
    pip(str(ROOT))  # the project itself, not editable

    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.read(ROOT / "book" / f"{NOTEBOOK}.ipynb", as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell("import sys, ggd_tutorial\nprint(sys.prefix)\nprint(ggd_tutorial.__file__)")
    )
    nbformat.write(nb, work / f"{NOTEBOOK}.ipynb")
    (work / "execute.py").write_text(EXECUTE)

    result = subprocess.run(
        [str(python), str(work / "execute.py"), str(work / f"{NOTEBOOK}.ipynb"), str(work)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    prefix, package = result.stdout.split()[-2:]
    assert Path(prefix).resolve() == venv.resolve(), "the notebook did not run in the fresh environment"
    assert Path(package).resolve().is_relative_to(venv.resolve()), f"imported {package}, not the installed package"
