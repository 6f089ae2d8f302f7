"""MyST chapters rendered as plain notebooks (tools/colab_notebooks.py): every directive and role, both
audiences, and the errors for what it cannot render."""

import json
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from colab_notebooks import Links, chapter_notebook, checks_removed, raw_myst  # noqa: E402

LINKS = Links("https://github.com/owner/name", "v9.9.9")

CHAPTER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  name: python3
---

# A chapter

```{admonition} Learning objectives
:class: tip

* one {cite}`votruba2025`
```

$$
a = b
$$ (first)

(here)=
## A section

Equation {eq}`first`, {ref}`here`, {ref}`shown text <here>`, [kinetics](kinetics.md), [notes](notation.md#signs),
[web](https://example.org) and {cite:t}`pavelka2018`.

```{code-cell} ipython3
import ggd_tutorial.book.levels as lv
x = 1
```

```{code-cell} ipython3
# Check (collapsed in the HTML): the claim holds
assert x == 1
lv.check("key", x)
```

```{include} ../benchmarks/runtimes.md
:start-line: 0
:end-line: 1
```

```{literalinclude} ../ggd_tutorial/book/experiments.py
:pyobject: heat_exchange
```

```{exercise}
:label: ex-pen

*Pen and paper, easy, 5 min.* Derive it.
```

````{solution} ex-pen
:class: dropdown

The derivation.

```python
print("old-style code")
```
````

```{exercise} A title with $x$
:label: ex-code

*Coding, easy, 5 min.* Write `f`.
```

```{solution-start} ex-code
:class: dropdown
```

Secret explanation.

```{code-cell} ipython3
secret_solution_code = 42
```

```{solution-end}
```

After the exercises.
"""


def render(tmp_path, text, audience):
    md = ROOT / "book" / f"_probe_{tmp_path.name}.md"  # in book/, so that the relative links resolve
    md.write_text(text)
    try:
        return chapter_notebook(md, LINKS, audience)
    finally:
        md.unlink()


def sources(nb, kind=None):
    return [c.source for c in nb.cells if kind is None or c.cell_type == kind]


def test_book_audience_renders_every_directive_and_role_as_plain_markdown(tmp_path):
    nb = render(tmp_path, CHAPTER, "book")
    md = "\n\n".join(sources(nb, "markdown"))
    assert raw_myst(md) == [], raw_myst(md)
    assert "> **Learning objectives**" in md and "(Votruba 2025)" in md and "Pavelka et al. (2018)" in md
    assert "\\tag{1}" in md and "Equation (1)" in md and "*A section*" in md and "shown text," in md
    assert "(https://colab.research.google.com/github/owner/name/blob/v9.9.9/book/kinetics.ipynb)" in md
    assert "(https://github.com/owner/name/blob/v9.9.9/book/notation.md#signs)" in md and "(https://example.org)" in md
    assert "def heat_exchange" in md and "```python" in md
    assert (ROOT / "benchmarks" / "runtimes.md").read_text().splitlines()[0] in md
    assert "#### Exercise 1\n" in md and "#### Exercise 2: A title with $x$" in md
    assert "#### Solution to exercise 1" in md and "The derivation." in md and "Secret explanation." in md
    assert "After the exercises." in md and "## References" in md
    code = "\n".join(sources(nb, "code"))
    assert "secret_solution_code" in code and 'lv.check("key", x)' in code  # the book keeps its checks


def test_student_audience_has_no_solution_an_answer_cell_per_exercise_and_no_checks(tmp_path):
    nb = render(tmp_path, CHAPTER, "student")
    md, code = "\n".join(sources(nb, "markdown")), "\n".join(sources(nb, "code"))
    assert raw_myst(md) == []
    assert "Solution" not in md and "derivation." not in md and "Secret" not in md and "old-style" not in md
    assert "secret_solution_code" not in code
    assert "lv.check" not in code and "assert x == 1" not in code and "x = 1" in code
    answers = [c for c in nb.cells if "answer" in c.metadata.get("tags", [])]
    assert [c.cell_type for c in answers] == ["markdown", "code"]  # pen and paper, then coding
    assert "After the exercises." in md  # the text after a gated solution comes back


@pytest.mark.parametrize(
    "piece, message",
    [
        ("```{figure} x.png\n```\n", "directive {figure}"),
        ("{numref}`nowhere`\n", "unknown label"),
        ("{eq}`missing`\n", "unknown equation"),
        ("{foo}`bar`\n", "role {foo}"),
        ("{cite}`nobody1900`\n", "not in references.bib"),
        ("```{solution-start} ex-none\n```\n\n```{solution-end}\n```\n", "unknown exercise"),
        (
            "```{exercise}\n:label: ex-a\n\nx\n```\n\n```{solution-start} ex-a\n```\n\ntext\n",
            "without its solution-end",
        ),
        ("[up](../../outside.md)\n", "leaves the repository"),
    ],
)
def test_what_cannot_be_rendered_is_an_error(tmp_path, piece, message):
    head = CHAPTER.split("# A chapter")[0]
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        render(tmp_path, head + "# T\n\n" + piece, "book")


def test_raw_myst_finds_what_is_left():
    assert raw_myst("```{note}\nx\n```") and raw_myst("see {eq}`a`") and raw_myst("(x)=\n# H")
    assert raw_myst("$$ (lbl)") and raw_myst("   ```{exercise}")
    assert raw_myst("plain $x$ and `code` and ```python\nprint()\n```") == []


def test_checks_removed_keeps_everything_else():
    source = textwrap.dedent(
        """\
        # a comment stays
        for k in keys:
            lv.check_measure(runs[k], f"{k}.x")
        y = lv.measure(z)  # a value, not a check
        if y:
            lv.check("a", 1)
        else:
            print(2)
        assert y
        """
    )
    out = checks_removed(source)
    assert "lv.check" not in out and "for k in keys" not in out and "y = lv.measure(z)" in out
    assert "if y:\n    pass\nelse:\n    print(2)" in out and "assert y" in out and out.startswith("# a comment")
    assert "assert y" not in checks_removed(source, asserts=True)
    assert checks_removed("x = 1\n") == "x = 1"


def test_unknown_audience_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="audience"):
        render(tmp_path, CHAPTER, "teacher")


@pytest.mark.parametrize("path", sorted((ROOT / "book").glob("*.ipynb")), ids=lambda p: p.stem)
def test_the_book_notebooks_have_no_raw_myst(path):
    cells = json.loads(path.read_text())["cells"]
    left = [x for c in cells if c["cell_type"] == "markdown" for x in raw_myst("".join(c["source"]))]
    assert left == [], f"{path.name}: {left[:5]}"
