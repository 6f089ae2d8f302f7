"""Generate the chapter notebooks (book/*.ipynb) from the MyST sources (book/*.md).

    python tools/sync_notebooks.py          # write book/*.ipynb
    python tools/sync_notebooks.py --check  # exit 1 if any notebook is out of date

The MyST Markdown files are the single source; the notebooks are generated (without outputs)
next to them, where the book's "Open in Colab" launch button finds them. Their Markdown is plain
(``tools/colab_notebooks.py``: exercises, solutions, includes, citations and equation numbers rendered,
so Colab shows no raw MyST). Each notebook starts with a setup cell that installs ``ggd_tutorial`` at
the release the launch buttons point to (``repository.branch`` in ``_config.yml``, the tag
``v<version>`` of ``pyproject.toml``) when it runs on Google Colab, and does nothing anywhere else.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml
from colab_notebooks import Links, book_pages, chapter_notebook

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
SETUP_TAG = "colab-setup"

SETUP_CELL = """\
# Setup for Google Colab: install ggd_tutorial on a fresh runtime. Elsewhere this cell does nothing.
import importlib.util, subprocess, sys

try:
    import google.colab  # noqa: F401 (exists only on Colab)
    on_colab = True
except ImportError:
    on_colab = False
if on_colab:
    if importlib.util.find_spec("ggd_tutorial") is None:
        # Only the package: torch, numpy, scipy, sympy, matplotlib, tqdm and ipywidgets come with Colab,
        # in versions its requirements accept, so pip leaves them (and Colab's widgets) as they are.
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                        "ggd-tutorial @ git+{url}@{branch}"], check=True)
    import torch
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    print("ggd_tutorial is ready. The chapters train on the CPU, where their asserted levels were measured"
          + (f"; the GPU ({{gpu}}) is there for your own fits: fit(model, data, device='auto')." if gpu else "."))
"""


def repository() -> tuple[str, str]:
    """The repository URL and the git reference (the release tag) of the notebooks, kept in one place:
    ``_config.yml``."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config.get("repository") or {}
    if not repo.get("url"):
        raise SystemExit("_config.yml has no repository.url; the Colab setup cell needs it")
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def links() -> Links:
    """Where the notebooks' links to other chapters and files point."""
    return Links(*repository())


def setup_cell() -> nbformat.NotebookNode:
    url, branch = repository()
    cell = nbformat.v4.new_code_cell(SETUP_CELL.format(url=url, branch=branch).rstrip("\n"))
    cell.metadata["tags"] = [SETUP_TAG]
    return cell


def chapters() -> list[Path]:
    return [p for p in book_pages() if p.read_text().startswith("---\njupytext:")]


def finish(nb: nbformat.NotebookNode, stem: str) -> str:
    """Prepend the Colab setup cell, set the kernel and give cells stable ids; return the JSON text."""
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.cells = [setup_cell()] + [c for c in nb.cells if SETUP_TAG not in c.metadata.get("tags", [])]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{stem}-{i}"  # deterministic ids keep the files stable
    return nbformat.writes(nb, version=4) + "\n"


def render(md: Path) -> str:
    return finish(chapter_notebook(md, links(), "book"), md.stem)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check, write nothing")
    args = parser.parse_args(argv)
    stale = []
    for md in chapters():
        target = md.with_suffix(".ipynb")
        text = render(md)
        if not target.exists() or target.read_text() != text:
            stale.append(target.name)
            if not args.check:
                target.write_text(text)
    expected = {md.stem + ".ipynb" for md in chapters()}
    extra = sorted(p.name for p in BOOK.glob("*.ipynb") if p.name not in expected)
    if args.check and (stale or extra):
        print(f"out of date: {stale}; without a source: {extra}. Run python tools/sync_notebooks.py")
        return 1
    print(("checked" if args.check else "wrote") + f" {len(expected)} notebooks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
