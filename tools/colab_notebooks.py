"""MyST chapters as Colab-ready notebooks: every directive and role rendered as plain Markdown or code.

Colab (and Jupyter without MyST) shows a MyST directive as its raw text: an ``{exercise}`` block as a
code fence, an ``{include}`` as the file name, ``{cite}`` and ``{eq}`` as roles. This module turns a
chapter (``book/<chapter>.md``) into a notebook whose Markdown is plain: exercises become numbered
headings, admonitions block quotes, includes and literal includes their content (Markdown or a code
block), equation labels ``\\tag{n}`` and their references ``(n)``, citations "(Author Year)" with a
reference list at the end, links to other chapters links that open those chapters in Colab.

Two audiences:

``"book"``
    The book's own notebooks (the launch buttons' targets) and the instructor's copies: the solutions
    stay, as a heading and the solution's Markdown and executed code cells.
``"student"``
    No solution (neither its text nor its code cells), one answer cell after each exercise (Markdown
    for a pen-and-paper exercise, code for a coding one, both for "pen and paper, then coding"), and
    none of the book's checks (``lv.check...`` calls, and the asserts of the cells headed ``# Check``):
    they assert the book's measured levels and claims, which a student's own changes may
    legitimately miss.

Unknown directives raise :class:`ValueError`, so a new one cannot slip through unrendered.
"""

from __future__ import annotations

import ast
import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import latexcodec  # noqa: F401 (registers the "ulatex" codec)
import nbformat
from pybtex.database import parse_file

__all__ = ["AUDIENCES", "Links", "book_pages", "chapter_notebook", "checks_removed", "raw_myst", "student_code"]

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
AUDIENCES = ("book", "student")
CHECK_CALLS = ("check", "check_measure", "assert_level")  # lv.<name>(...) statements dropped for students

#: A fenced directive: fence (backticks or colons, three or more), name, argument, body.
DIRECTIVE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}[ \t]*(?P<arg>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.S | re.M
)
ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<text>[^`]*)`")
LABELLED_MATH = re.compile(r"^\$\$[ \t]*\((?P<label>[\w-]+)\)[ \t]*$", re.M)
TARGET = re.compile(r"^\((?P<label>[\w-]+)\)=[ \t]*\n", re.M)
LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]+)\]\((?P<href>[^)\s]+)\)")
ADMONITIONS = {"note", "tip", "hint", "important", "warning", "caution", "attention", "danger", "error", "seealso"}


def book_pages() -> list[Path]:
    """The MyST pages in ``book/``, sorted; a file whose name starts with ``_`` is not a page (a
    scratch file, e.g. the renderer tests' probes, which must live in ``book/`` for their relative
    links to resolve, and which another test process must not take for a chapter)."""
    return sorted(p for p in BOOK.glob("*.md") if not p.name.startswith("_"))


def raw_myst(text: str) -> list[str]:
    """The pieces of MyST syntax left in ``text`` (directives, roles, labels): empty for plain Markdown."""
    found = [m.group(0)[:60] for m in re.finditer(r"^[ \t]*(`{3,}|:{3,})\{[\w-]+\}[^\n]*", text, re.M)]
    found += [m.group(0)[:60] for m in ROLE.finditer(text)]
    found += [m.group(0).strip() for m in TARGET.finditer(text)]
    found += [m.group(0) for m in LABELLED_MATH.finditer(text)]
    return found


@dataclass(frozen=True)
class Links:
    """Where links to other pages point: the repository (``https://github.com/OWNER/NAME``) and the
    git reference (a release tag) of the notebooks and sources."""

    repository: str
    ref: str

    def page(self, href: str, source: Path) -> str:
        """The URL of a relative link ``href`` written in ``source``: another chapter opens in Colab,
        any other file on the repository's web view; absolute links and anchors stay."""
        if re.match(r"^[a-z]+:|^#", href):
            return href
        path, _, anchor = href.partition("#")
        target = (source.parent / path).resolve()
        try:
            relative = target.relative_to(ROOT).as_posix()
        except ValueError as err:
            raise ValueError(f"{source.name}: link {href!r} leaves the repository") from err
        if target.suffix == ".md" and _has_notebook(target):
            owner_name = self.repository.removeprefix("https://github.com/")
            url = f"https://colab.research.google.com/github/{owner_name}/blob/{self.ref}/{relative[:-3]}.ipynb"
        else:
            url = f"{self.repository}/blob/{self.ref}/{relative}"
        return url + (f"#{anchor}" if anchor else "")


def _has_notebook(md: Path) -> bool:
    return md.exists() and md.read_text().startswith("---\njupytext:")


# ---------------------------------------------------------------------------------------------
# References


def _latex(text: str) -> str:
    return codecs.decode(text, "ulatex").replace("{", "").replace("}", "")


@dataclass
class Bibliography:
    """The entries of ``book/references.bib``, cited in author-year form."""

    path: Path = BOOK / "references.bib"
    cited: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.entries = parse_file(str(self.path)).entries

    def _entry(self, key: str):
        if key not in self.entries:
            raise ValueError(f"citation {key!r} is not in {self.path.name}")
        if key not in self.cited:
            self.cited.append(key)
        return self.entries[key]

    def authors(self, key: str) -> str:
        people = self._entry(key).persons.get("author") or self._entry(key).persons.get("editor") or []
        last = [_latex(" ".join(p.prelast_names + p.last_names)) for p in people]
        if not last:
            return _latex(self._entry(key).fields.get("title", key))
        return last[0] if len(last) == 1 else f"{last[0]} and {last[1]}" if len(last) == 2 else f"{last[0]} et al."

    def year(self, key: str) -> str:
        return self._entry(key).fields.get("year", "n.d.")

    def cite(self, keys: str, textual: bool) -> str:
        """``(A 2020; B and C 2021)``, or ``A (2020)`` for a textual citation."""
        keys_ = [k.strip() for k in keys.split(",") if k.strip()]
        if textual:
            return "; ".join(f"{self.authors(k)} ({self.year(k)})" for k in keys_)
        return "(" + "; ".join(f"{self.authors(k)} {self.year(k)}" for k in keys_) + ")"

    def reference_list(self, keys: list[str] | None = None) -> str:
        """A Markdown list of the works ``keys`` (default: those cited so far), by author and year."""
        keys = sorted(self.cited if keys is None else keys, key=lambda k: (self.authors(k), self.year(k)))
        lines = []
        for key in keys:
            f = self._entry(key).fields
            where = f.get("journal") or f.get("booktitle") or f.get("publisher") or f.get("howpublished") or ""
            doi = f" [doi:{f['doi']}](https://doi.org/{f['doi']})" if "doi" in f else ""
            title = _latex(f.get("title", key))
            lines.append(f"- {self.authors(key)} ({self.year(key)}). *{title}*. {_latex(where)}{doi}".rstrip())
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# One chapter


@dataclass
class _Chapter:
    """What rendering one chapter needs to know about all of it: numbers and titles of its labels."""

    source: Path
    links: Links
    audience: str
    equations: dict[str, int] = field(default_factory=dict)
    sections: dict[str, str] = field(default_factory=dict)
    exercises: dict[str, int] = field(default_factory=dict)
    bibliography: Bibliography = field(default_factory=Bibliography)

    def scan(self, markdown: str) -> None:
        for label in LABELLED_MATH.findall(markdown) + re.findall(r"^:label:\s*(eq[\w-]*)", markdown, re.M):
            self.equations.setdefault(label, len(self.equations) + 1)
        for m in re.finditer(r"^\(([\w-]+)\)=[ \t]*\n+#+[ \t]*(.+)$", markdown, re.M):
            self.sections[m.group(1)] = m.group(2).strip()
        for m in re.finditer(r"^`{3,}\{exercise(?:-start)?\}[^\n]*\n:label:\s*(\S+)", markdown, re.M):
            self.exercises.setdefault(m.group(1), len(self.exercises) + 1)


def _options(body: str) -> tuple[dict[str, str], str]:
    """Split a directive body into its ``:key: value`` options and the rest."""
    options, lines = {}, body.splitlines(keepends=True)
    while lines and re.match(r"^:[\w-]+:", lines[0]):
        key, _, value = lines.pop(0)[1:].partition(":")
        options[key.strip()] = value.strip()
    return options, "".join(lines).strip("\n")


def _quote(title: str, body: str) -> str:
    lines = [f"**{title}**", ""] + body.splitlines()
    return "\n".join(("> " + line).rstrip() for line in lines)


def _included(path: Path, options: dict[str, str]) -> str:
    text = path.read_text()
    if "start-after" in options:
        text = text.split(options["start-after"], 1)[1]
    if "end-before" in options:
        text = text.split(options["end-before"], 1)[0]
    lines = text.splitlines()
    start = int(options.get("start-line", 0))
    end = int(options["end-line"]) if "end-line" in options else None
    return "\n".join(lines[start:end]).strip("\n")


def _pyobject(path: Path, name: str) -> str:
    source = path.read_text()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and node.name == name:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            return "\n".join(source.splitlines()[first - 1 : node.end_lineno])
    raise ValueError(f"{path.name} defines no {name!r}")


def _kinds(exercise_body: str) -> tuple[bool, bool]:
    """Whether an exercise asks for pen and paper, and whether it asks for code (its first italic line)."""
    first = next((line for line in exercise_body.splitlines() if line.strip()), "").lower()
    pen, code = "pen and paper" in first, "coding" in first or "code" in first or "open-ended" in first
    return pen, code or not pen


class _Renderer:
    """Renders the Markdown of one chapter, block by block; yields cells for the student's answers."""

    def __init__(self, chapter: _Chapter, base: Path | None = None) -> None:
        self.chapter = chapter
        self.base = base or chapter.source  # the file relative links and includes are written in
        self.in_solution = False

    # -- blocks -------------------------------------------------------------------------------
    def markdown(self, text: str) -> list[nbformat.NotebookNode]:
        """The cells one Markdown cell of the chapter becomes."""
        cells: list[nbformat.NotebookNode] = []
        buffer: list[str] = []

        def flush() -> None:
            joined = re.sub(r"\n{3,}", "\n\n", "\n\n".join(p.strip("\n") for p in buffer if p.strip()))
            if joined.strip():
                cells.append(nbformat.v4.new_markdown_cell(joined))
            buffer.clear()

        position = 0
        for match in DIRECTIVE.finditer(text):
            before = text[position : match.start()]
            if not self.in_solution or self.chapter.audience == "book":
                buffer.append(self.inline(before))
            position = match.end()
            name, arg = match["name"], match["arg"].strip()
            options, body = _options(match["body"])
            if name == "solution-end":
                self.in_solution = False
                continue
            if self.in_solution and self.chapter.audience == "student":
                continue
            if name == "exercise":
                label = options.get("label", arg)
                number = self.chapter.exercises[label]
                title = f": {self.inline(arg)}" if arg and "label" in options else ""
                buffer.append(f"#### Exercise {number}{title}\n\n" + self.markdown_text(body))
                if self.chapter.audience == "student":
                    flush()
                    cells.extend(self.answer_cells(number, label, body))
            elif name in ("solution", "solution-start"):
                self.in_solution = name == "solution-start"
                if self.chapter.audience == "book":
                    number = self.chapter.exercises.get(arg)
                    if number is None:
                        raise ValueError(f"{self.chapter.source.name}: a solution to an unknown exercise {arg!r}")
                    buffer.append(f"#### Solution to exercise {number}\n\n" + self.markdown_text(body))
            else:
                buffer.append(self.block(name, arg, options, body))
        if not self.in_solution or self.chapter.audience == "book":
            buffer.append(self.inline(text[position:]))
        flush()
        return cells

    def markdown_text(self, text: str, base: Path | None = None) -> str:
        """Render Markdown that cannot hold an exercise or a solution (a block's body, an included
        file written in ``base``): one string."""
        return "\n\n".join(c.source for c in _Renderer(self.chapter, base or self.base).markdown(text))

    def block(self, name: str, arg: str, options: dict[str, str], body: str) -> str:
        src = self.base
        if name == "admonition":
            return _quote(self.inline(arg), self.markdown_text(body))
        if name in ADMONITIONS:
            return _quote(name.capitalize() if name != "seealso" else "See also", self.markdown_text(body))
        if name == "include":
            return self.markdown_text(_included(src.parent / arg, options), base=src.parent / arg)
        if name == "literalinclude":
            path = src.parent / arg
            code = _pyobject(path, options["pyobject"]) if "pyobject" in options else _included(path, options)
            language = options.get("language", "python" if path.suffix == ".py" else "")
            return f"```{language}\n{code}\n```"
        if name == "math":
            label = options.get("label")
            tag = f" \\tag{{{self.chapter.equations[label]}}}" if label else ""
            return f"$$\n{body.strip()}{tag}\n$$"
        if name == "bibliography":
            return self.chapter.bibliography.reference_list(list(self.chapter.bibliography.entries))
        raise ValueError(f"{src.name}: no plain-Markdown rendering for the directive {{{name}}}")

    def answer_cells(self, number: int, label: str, body: str) -> list[nbformat.NotebookNode]:
        pen, code = _kinds(body)
        cells = []
        if pen:
            cells.append(nbformat.v4.new_markdown_cell(f"*Your answer to exercise {number} (pen and paper):*\n\n..."))
        if code:
            cells.append(nbformat.v4.new_code_cell(f"# Exercise {number} ({label}): your answer here\n..."))
        for cell in cells:
            cell.metadata["tags"] = ["answer"]
        return cells

    # -- inline -------------------------------------------------------------------------------
    def inline(self, text: str) -> str:
        chapter = self.chapter
        text = TARGET.sub("", text)

        def labelled_math(match: re.Match) -> str:
            # "$$ (label)" closes a display equation: put the number inside it
            return f"\\tag{{{chapter.equations[match['label']]}}}\n$$"

        text = LABELLED_MATH.sub(labelled_math, text)

        def role(match: re.Match) -> str:
            kind, content = match["role"], match["text"]
            if kind == "eq":
                if content not in chapter.equations:
                    raise ValueError(f"{chapter.source.name}: {{eq}} to an unknown equation {content!r}")
                return f"({chapter.equations[content]})"
            if kind in ("cite", "cite:p", "cite:ps", "cite:t", "cite:ts"):
                return chapter.bibliography.cite(content, textual=kind.startswith("cite:t"))
            if kind in ("ref", "numref", "doc"):
                shown = re.match(r"^(?P<text>.*?)\s*<(?P<label>[^>]+)>$", content, re.S)
                if shown:
                    return shown["text"]
                if content in chapter.sections:
                    return f"*{chapter.sections[content]}*"
                if content in chapter.exercises:
                    return f"exercise {chapter.exercises[content]}"
                raise ValueError(f"{chapter.source.name}: {{{kind}}} to an unknown label {content!r}")
            if kind == "math":
                return f"${content}$"
            raise ValueError(f"{chapter.source.name}: no plain-Markdown rendering for the role {{{kind}}}")

        text = ROLE.sub(role, text)
        return LINK.sub(lambda m: f"[{m['text']}]({chapter.links.page(m['href'], self.base)})", text)


def checks_removed(source: str, asserts: bool = False) -> str:
    """``source`` without its level checks (statements ``lv.check(...)``, ``lv.check_measure(...)``,
    ``lv.assert_level(...)``), with ``asserts`` also without its ``assert`` statements, and without
    loops and branches that held nothing else; a body left empty gets ``pass``. Comments and layout
    of the rest stay.

    Raises
    ------
    SyntaxError
        If ``source`` is not Python (IPython magics included).
    """
    tree = ast.parse(source)
    lines = source.splitlines()

    def removable(node: ast.stmt) -> bool:
        if asserts and isinstance(node, ast.Assert):
            return True
        if isinstance(node, (ast.For, ast.While, ast.If, ast.With)):
            return all(removable(s) for s in node.body + getattr(node, "orelse", []))
        call = node.value if isinstance(node, ast.Expr) else None
        return (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id == "lv"
            and call.func.attr in CHECK_CALLS
        )

    drop: set[int] = set()
    passes: dict[int, str] = {}

    def visit(body: list[ast.stmt], top: bool) -> None:
        gone = [s for s in body if removable(s)]
        for s in gone:
            first = min([s.lineno] + [d.lineno for d in getattr(s, "decorator_list", [])])
            drop.update(range(first - 1, s.end_lineno))
        if gone and len(gone) == len(body) and not top:
            passes[body[0].lineno - 1] = " " * body[0].col_offset + "pass"
        for s in body:
            if s in gone:
                continue
            for name in ("body", "orelse", "finalbody"):
                inner = getattr(s, name, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    visit(inner, top=False)
            for handler in getattr(s, "handlers", []):
                visit(handler.body, top=False)

    visit(tree.body, top=True)
    kept = [passes.get(i, line) for i, line in enumerate(lines) if i not in drop or i in passes]
    return "\n".join(kept).strip("\n")


def student_code(source: str) -> str:
    """A code cell of the chapter as a student's copy has it: without the book's checks (a cell
    that starts with a ``# Check`` comment loses its asserts too); empty if nothing else is left."""
    try:
        source = checks_removed(source, asserts=source.lstrip().startswith("# Check"))
    except SyntaxError:  # IPython syntax (magics): nothing that ast can see to remove
        return source
    code = [line for line in source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return source if code else ""


def chapter_notebook(md: Path, links: Links, audience: str = "book") -> nbformat.NotebookNode:
    """The notebook of the chapter ``md`` with plain Markdown, for ``audience`` ``"book"`` or ``"student"``.

    Parameters
    ----------
    md
        A MyST Markdown notebook (``book/<chapter>.md``).
    links
        Where links to other chapters and files point.
    audience
        ``"book"`` keeps the solutions; ``"student"`` removes them (text and code), adds an answer cell
        after each exercise and removes the level checks.

    Returns
    -------
    nbformat.NotebookNode
        The notebook, without a setup cell (see ``tools/sync_notebooks.py``) and without outputs.

    Raises
    ------
    ValueError
        For an unknown audience, directive, role or label, or a solution without its exercise.
    """
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {AUDIENCES}, not {audience!r}")
    nb = jupytext.read(md)
    chapter = _Chapter(md, links, audience)
    chapter.scan("\n".join(c.source for c in nb.cells if c.cell_type == "markdown"))
    renderer = _Renderer(chapter)
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cells.extend(renderer.markdown(cell.source))
        elif renderer.in_solution and audience == "student":
            continue
        elif audience == "student" and cell.cell_type == "code":
            cell.source = student_code(cell.source)
            if cell.source:
                cells.append(cell)
        else:
            cells.append(cell)
    if renderer.in_solution:
        raise ValueError(f"{md.name}: a solution-start without its solution-end")
    if chapter.bibliography.cited and "{bibliography}" not in md.read_text():
        cells.append(nbformat.v4.new_markdown_cell("## References\n\n" + chapter.bibliography.reference_list()))
    nb.cells = cells
    return nb
