"""The book's sources, generated notebooks and (when built) HTML pages."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHAPTERS = ["intro", "gradient_dynamics", "icnn", "overdamped", "kinetics", "diffusion", "summary"]


def toc_files():
    return re.findall(r"(?:root|file):\s*(\S+)", (ROOT / "_toc.yml").read_text())


def test_toc_lists_every_chapter_and_sources_exist():
    assert [Path(f).name for f in toc_files()] == CHAPTERS
    for f in toc_files():
        assert (ROOT / (f + ".md")).exists(), f


def test_notebooks_are_in_sync_with_myst_sources():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "sync_notebooks.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_system_chapter_states_runtime_and_asserts_levels():
    for name in ["overdamped", "kinetics", "diffusion"]:
        text = (ROOT / "book" / f"{name}.md").read_text()
        assert "Runtime on a 2-core CPU" in text
        assert re.search(r"assert mse\w*(\[[^]]+\])?\s*<=?", text), f"{name}: no asserted MSE level"
        assert "entropy_production" in text and "assert production.min() >=" in text


@pytest.mark.skipif(not HTML.exists(), reason="book not built: run `jupyter-book build .` first")
@pytest.mark.parametrize("name", CHAPTERS)
def test_built_page_exists_with_figures_and_no_errors(name):
    page = HTML / "book" / f"{name}.html"
    assert page.exists(), f"{page} missing"
    html = page.read_text()
    for marker in ("Traceback (most recent call last)", "output stderr", "Error</span>"):
        assert marker not in html, f"{name}: error output ({marker}) in the built page"
    if name not in ("intro", "summary"):
        assert html.count("<img") >= 1, f"{name}: no figures"
    assert "math notranslate" in html or name == "summary"
