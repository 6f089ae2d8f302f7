"""Generate the Colab/nbval notebooks in notebooks/ from the MyST sources in book/.

    python tools/sync_notebooks.py          # write notebooks/*.ipynb
    python tools/sync_notebooks.py --check  # exit 1 if any notebook is out of date

The MyST Markdown files are the single source; the notebooks are generated (without outputs).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
BOOK, NOTEBOOKS = ROOT / "book", ROOT / "notebooks"


def chapters() -> list[Path]:
    return sorted(p for p in BOOK.glob("*.md") if p.read_text().startswith("---\njupytext:"))


def render(md: Path) -> str:
    nb = jupytext.read(md)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{md.stem}-{i}"  # deterministic ids keep the files stable
    return nbformat.writes(nb, version=4) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check, write nothing")
    args = parser.parse_args(argv)
    NOTEBOOKS.mkdir(exist_ok=True)
    stale = []
    for md in chapters():
        target = NOTEBOOKS / (md.stem + ".ipynb")
        text = render(md)
        if not target.exists() or target.read_text() != text:
            stale.append(target.name)
            if not args.check:
                target.write_text(text)
    expected = {md.stem + ".ipynb" for md in chapters()}
    extra = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb") if p.name not in expected)
    if args.check and (stale or extra):
        print(f"out of date: {stale}; without a source: {extra}. Run python tools/sync_notebooks.py")
        return 1
    print(("checked" if args.check else "wrote") + f" {len(expected)} notebooks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
