"""The book's sources, generated notebooks and (when built) HTML pages."""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
#: Pages of the book without code (no notebook, no launch button).
PAGES_WITHOUT_CODE = ("testing", "instructor", "notation", "api")


def toc_files():
    return re.findall(r"(?:root|file):\s*(\S+)", (ROOT / "_toc.yml").read_text())


#: The chapters with code, in the order of _toc.yml.
CHAPTERS = [Path(f).name for f in toc_files() if Path(f).name not in PAGES_WITHOUT_CODE]


def test_toc_lists_every_chapter_and_sources_exist():
    names = [Path(f).name for f in toc_files()]
    assert names[0] == "intro" and "summary" in CHAPTERS and set(PAGES_WITHOUT_CODE) <= set(names)
    for f in toc_files():
        assert (ROOT / (f + ".md")).exists(), f


def test_notebooks_are_in_sync_with_myst_sources():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "sync_notebooks.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def repository():
    repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    return repo["url"], repo["branch"]


def setup_source(name):
    cells = json.loads((ROOT / "book" / f"{name}.ipynb").read_text())["cells"]
    assert "colab-setup" in cells[0]["metadata"].get("tags", []), f"{name}: first cell is not the Colab setup"
    return "".join(cells[0]["source"])


@pytest.mark.parametrize("name", CHAPTERS)
def test_first_cell_installs_from_the_configured_repository(name):
    url, branch = repository()
    source = setup_source(name)
    assert f"git+{url}@{branch}" in source
    install = source[source.index('"install"') : source.index("check=True")]
    assert "torch" not in install, "the setup cell must not install or pin torch"


def run_setup_cell(monkeypatch, in_colab):
    import types

    calls = []
    real_find_spec = importlib.util.find_spec
    if in_colab:
        monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
        # a fresh Colab runtime: ggd_tutorial is not installed yet
        monkeypatch.setattr(
            importlib.util, "find_spec", lambda name, *a: None if name == "ggd_tutorial" else real_find_spec(name, *a)
        )
    else:
        monkeypatch.setitem(sys.modules, "google.colab", None)  # import fails, as outside Colab
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    exec(setup_source("overdamped"), {})
    return calls


def test_setup_cell_does_nothing_outside_colab(monkeypatch, capsys):
    assert run_setup_cell(monkeypatch, in_colab=False) == []
    assert capsys.readouterr().out == ""


def test_setup_cell_on_colab_installs_only_the_package_and_reports_the_device(monkeypatch, capsys):
    url, branch = repository()
    calls = run_setup_cell(monkeypatch, in_colab=True)
    assert len(calls) == 1 and calls[0][1:4] == ["-m", "pip", "install"]
    assert calls[0][-1] == f"ggd-tutorial @ git+{url}@{branch}"
    out = capsys.readouterr().out
    import torch

    assert "The chapters train on the CPU" in out  # as they do: no chapter passes device=
    assert ("device='auto'" in out) == torch.cuda.is_available()


def test_notebooks_install_the_release_of_this_version_and_leave_colabs_widgets_alone():
    """The launch buttons and the setup cells point to the tag of pyproject.toml's version, and the
    package's requirements accept what Colab ships (ipywidgets 7.7), so installing upgrades nothing."""
    import re as _re

    pyproject = (ROOT / "pyproject.toml").read_text()
    version = _re.search(r'^version = "([^"]+)"', pyproject, _re.M)[1]
    assert repository()[1] == f"v{version}"
    widgets = _re.search(r'"ipywidgets>=([\d.]+)"', pyproject)[1]
    assert tuple(int(p) for p in widgets.split(".")) <= (7, 7)
    import ast

    for name in CHAPTERS:
        for cell in _code_cells(name):
            for node in ast.walk(ast.parse(cell.source)):
                for kw in getattr(node, "keywords", []) if isinstance(node, ast.Call) else []:
                    off_cpu = kw.arg == "device" and not (
                        isinstance(kw.value, ast.Constant) and kw.value.value in (None, "cpu")
                    )
                    assert not off_cpu, f"{name} trains off the CPU; the setup cell says the chapters do not"


def test_every_system_chapter_states_runtime_and_asserts_levels():
    for name in ["overdamped", "kinetics", "diffusion"]:
        text = (ROOT / "book" / f"{name}.md").read_text()
        assert "Runtime on a 2-core CPU" in text
        assert re.search(
            r"lv\.check\(f?\"[\w{}.-]+\", mse|lv\.check_measure\([^,\n]+, f?\"[\w.-]+\.(test_mse|\{key\})\"", text
        ), f"{name}: no asserted MSE level"
        # (an exercise's solution asserts its own claims at its own small budget: not a level of the chapter)
        chapter_text = re.sub(r"\{solution-start\}.*?\{solution-end\}", "", text, flags=re.S)
        assert not re.search(r"assert mse\w*(\[[^]]+\])?\s*<", chapter_text), f"{name}: a level not backed by the study"
        assert "entropy_production" in text and re.search(
            r"assert (min\(\w+\.values\(\)\)|production\.min\(\)) >= -1e-12", text
        )


def _code_cells(name):
    import jupytext

    return [c for c in jupytext.read(ROOT / "book" / f"{name}.md").cells if c.cell_type == "code"]


@pytest.mark.parametrize("name", CHAPTERS)
def test_checks_sit_in_collapsed_cells_apart_from_the_teaching_code(name):
    """Every assert and level check is in a cell tagged hide-input (collapsed in the HTML, still run by
    nbval), and such a cell holds nothing else: no figure or variable is defined out of sight."""
    for cell in _code_cells(name):
        tags = set(cell.metadata.get("tags", []))
        lines = [line for line in cell.source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        checks = [line for line in lines if re.search(r"\bassert\b|lv\.check(_measure)?\(", line)]
        if tags & {"hide-input", "remove-input"}:
            if "colab-setup" not in tags and "remove-input" not in tags:
                assert checks, f"{name}: a collapsed cell without checks:\n{cell.source}"
                assert not re.search(r"^\w+\s*=|plt\.|plotting\.", cell.source, re.M), (
                    f"{name}: a collapsed check cell also defines or draws something:\n{cell.source}"
                )
        else:
            assert not checks, f"{name}: checks in a teaching cell (move them to a hide-input cell):\n{cell.source}"


@pytest.mark.skipif(not HTML.exists(), reason="book not built: run `python tools/build_book.py` first")
@pytest.mark.parametrize("name", CHAPTERS)
def test_built_page_exists_with_figures_and_no_errors(name):
    page = HTML / "book" / f"{name}.html"
    assert page.exists(), f"{page} missing"
    html = page.read_text()
    for marker in ("Traceback (most recent call last)", "output stderr", "output traceback"):
        assert marker not in html, f"{name}: error output ({marker}) in the built page"
    if name not in ("intro", "summary"):
        assert html.count("<img") >= 1, f"{name}: no figures"
    assert "math notranslate" in html or name == "summary"
    url, branch = repository()
    colab = f"https://colab.research.google.com/github/{url.split('github.com/')[1]}/blob/{branch}/book/{name}.ipynb"
    assert colab in html, f"{name}: no Open-in-Colab launch button for book/{name}.ipynb"
    assert (ROOT / "book" / f"{name}.ipynb").exists()
    collapsed = sum("hide-input" in c.metadata.get("tags", []) for c in _code_cells(name))
    assert html.count("tag_hide-input") == collapsed, f"{name}: check cells not collapsed in the HTML"


def _exercises():
    """(chapter, label, minutes) of every exercise of the chapters, from their first italic line."""
    found = []
    for name in CHAPTERS:
        text = (ROOT / "book" / f"{name}.md").read_text()
        for label, first in re.findall(r"`{3,}\{exercise\}[^\n]*\n:label:\s*(\S+)\n+\*([^*]+)\*", text):
            found.append((name, label, int(re.search(r"(\d+) min", first)[1])))
    return found


def test_the_syllabus_lists_every_exercise_once_and_counts_them_right():
    page = (ROOT / "book" / "instructor.md").read_text()
    syllabus = page[page.index("## Syllabus") : page.index("## What to run live")]
    exercises = _exercises()
    listed = re.findall(r"`(ex-[\w-]+)` \((\d+) min", syllabus)
    assert sorted(label for label, _ in listed) == sorted(label for _, label, _ in exercises)
    minutes = {label: m for _, label, m in exercises}
    assert all(minutes[label] == int(m) for label, m in listed), "a time in the syllabus differs from its exercise"
    count, total = re.search(
        r"In numbers: (\d+) exercises .*?(\d+) minutes by their stated times", syllabus, re.S
    ).groups()
    assert (int(count), int(total)) == (len(exercises), sum(minutes.values()))
