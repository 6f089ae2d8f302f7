"""The exercises of the chapters: each has one gated, executed solution, names the learning objectives it
assesses, and every objective is assessed.

The chapters are MyST Markdown; a solution is the gated pair of sphinx-exercise,

    ```{solution-start} ex-label
    :class: dropdown
    ```
    text, ```{code-cell} ipython3``` cells (run by the book build and by nbval), more text
    ```{solution-end}
    ```

and the first italic line of an exercise says its kind, difficulty, time and objectives, e.g.
``*Coding, easy, 15 min; objectives 1, 3.*`` (the bullets of the chapter's "Learning objectives"
admonition, numbered from 1). The parser below is tested on small synthetic chapters first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from test_book import CHAPTERS, ROOT

#: Chapters with code and exercises: every chapter of _toc.yml with code, except the two that frame the book.
EXERCISE_CHAPTERS = [name for name in CHAPTERS if name not in ("intro", "summary")]

FENCE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\s*(?:\{(?P<directive>[\w-]+)\}\s*(?P<argument>.*?)|(?P<info>[^`\s]*)[^`]*)\s*$"
)
OBJECTIVES = re.compile(r"objectives?\s+(\d+(?:\s*(?:,|and)\s*\d+)*)", re.I)
DIFFICULTIES = ("easy", "medium", "hard", "open-ended")


@dataclass
class Exercise:
    label: str | None
    header: str  # the first italic line, without the asterisks
    line: int

    @property
    def objectives(self) -> list[int]:
        found = OBJECTIVES.search(self.header)
        return [int(n) for n in re.findall(r"\d+", found.group(1))] if found else []

    @property
    def difficulty(self) -> list[str]:
        return [d for d in DIFFICULTIES if re.search(rf"(?<![\w-]){d}(?![\w-])", self.header, re.I)]


@dataclass
class Solution:
    label: str
    line: int
    options: list[str] = field(default_factory=list)
    code_cells: list[list[str]] = field(default_factory=list)  # each: its lines (options included)
    closed: bool = False


@dataclass
class Chapter:
    objectives: list[str] = field(default_factory=list)
    exercises: list[Exercise] = field(default_factory=list)
    solutions: list[Solution] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and set(stripped) == {fence[0]} and len(stripped) >= len(fence)


def parse_chapter(text: str) -> Chapter:
    """Exercises, gated solutions and learning objectives of a MyST chapter, and what is malformed."""
    chapter = Chapter()
    lines = text.splitlines()
    stack: list[tuple[str, str, int, list[str]]] = []  # (fence, directive or info, first line, body)
    open_solution: Solution | None = None
    for number, line in enumerate(lines, start=1):
        if stack and _closes(line, stack[-1][0]):
            fence, kind, start, body = stack.pop()
            if kind == "exercise" and not stack:
                chapter.exercises.append(_exercise(body, start, chapter))
            elif kind == "admonition" and not stack and body and body[0].strip() == "Learning objectives":
                chapter.objectives += [b[2:].strip() for b in body if b.startswith("* ")]
            elif kind == "solution-start" and not stack:
                label = body[0].strip() if body else ""
                if open_solution is not None:
                    chapter.problems.append(
                        f"line {start}: solution of {label!r} starts inside that of {open_solution.label!r}"
                    )
                open_solution = Solution(label, start, [b.strip() for b in body[1:] if b.strip()])
                chapter.solutions.append(open_solution)
            elif kind == "solution-end" and not stack:
                if open_solution is None:
                    chapter.problems.append(f"line {start}: a solution-end without a solution-start")
                else:
                    open_solution.closed = True
                    open_solution = None
            elif kind == "code-cell" and not stack and open_solution is not None:
                open_solution.code_cells.append(body)
            elif stack:
                stack[-1][3].extend([line_ for line_ in (f"{fence}{{{kind}}}", *body, fence)])
            continue
        match = FENCE.match(line)
        if match and (not stack or len(match.group("fence")) < len(stack[-1][0])):
            directive, info = match.group("directive"), match.group("info")
            kind = directive or info or ""
            if directive == "solution":
                chapter.problems.append(f"line {number}: an old {{solution}} block (not executed)")
            if kind in ("python", "py", "python3") and open_solution is not None:
                chapter.problems.append(
                    f"line {number}: a plain {kind} fence in the solution of {open_solution.label!r} (not executed)"
                )
            first = [match.group("argument")] if directive else []
            stack.append((match.group("fence"), kind, number, first))
            continue
        if stack:
            stack[-1][3].append(line)
    for fence, kind, start, _ in stack:
        chapter.problems.append(f"line {start}: the {kind!r} fence {fence} is never closed")
    for solution in chapter.solutions:
        if not solution.closed:
            chapter.problems.append(f"line {solution.line}: the solution of {solution.label!r} has no solution-end")
        if ":class: dropdown" not in solution.options:
            chapter.problems.append(f"line {solution.line}: the solution of {solution.label!r} is not a dropdown")
    return chapter


def _exercise(body: list[str], start: int, chapter: Chapter) -> Exercise:
    label = next((b.split(":label:", 1)[1].strip() for b in body if b.strip().startswith(":label:")), None)
    content = [b.strip() for b in body[1:] if b.strip() and not b.strip().startswith(":")]
    header = re.match(r"\*([^*]+)\*", content[0]) if content else None
    if label is None:
        chapter.problems.append(f"line {start}: an exercise without a :label:")
    if header is None:
        chapter.problems.append(f"line {start}: exercise {label!r} does not start with an italic line")
    return Exercise(label, header.group(1) if header else "", start)


def solution_problems(chapter: Chapter) -> list[str]:
    """Every exercise has exactly one gated solution with its label; no solution belongs to no exercise;
    every solution with code asserts something in a collapsed check cell."""
    problems = list(chapter.problems)
    labels = [e.label for e in chapter.exercises]
    for label in labels:
        count = sum(s.label == label for s in chapter.solutions)
        if count != 1:
            problems.append(f"exercise {label!r} has {count} solutions")
    problems += [
        f"a solution of {s.label!r}, which is no exercise here" for s in chapter.solutions if s.label not in labels
    ]
    for s in chapter.solutions:
        checks = [c for c in s.code_cells if any("hide-input" in line for line in c[:3])]
        if s.code_cells and not any(re.search(r"^\s*assert\b", line) for c in checks for line in c):
            problems.append(f"the solution of {s.label!r} runs code but asserts nothing in a hide-input check cell")
    return problems


def objective_problems(chapter: Chapter) -> list[str]:
    """Every exercise names one or more existing objectives; every objective is named by an exercise."""
    problems = []
    if not chapter.objectives:
        problems.append("no Learning objectives admonition with bullets")
    numbers = set(range(1, len(chapter.objectives) + 1))
    named: set[int] = set()
    for e in chapter.exercises:
        if not e.objectives:
            problems.append(f"exercise {e.label!r} names no objective: {e.header!r}")
        unknown = set(e.objectives) - numbers
        if unknown:
            problems.append(
                f"exercise {e.label!r} names objective(s) {sorted(unknown)}; the chapter has {len(numbers)}"
            )
        if len(e.difficulty) != 1:
            problems.append(f"exercise {e.label!r} needs one difficulty of {DIFFICULTIES}: {e.header!r}")
        named |= set(e.objectives)
    problems += [
        f"objective {n} ({chapter.objectives[n - 1][:60]}...) is assessed by no exercise"
        for n in sorted(numbers - named)
    ]
    return problems


@pytest.fixture(scope="module")
def chapters() -> dict[str, Chapter]:
    return {
        name: parse_chapter((ROOT / "book" / f"{name}.md").read_text(encoding="utf-8")) for name in EXERCISE_CHAPTERS
    }


# ---------------------------------------------------------------------------------------------------------
# The parser, on small synthetic chapters (each check must be able to fail)

GOOD = """# A chapter

```{admonition} Learning objectives
:class: tip

After this chapter you can

* do one thing;
* do another thing, which takes
  two lines.
```

```{exercise}
:label: ex-one

*Coding, easy, 10 min; objectives 1, 2.* Do it.
```

```{solution-start} ex-one
:class: dropdown
```

Text.

```{code-cell} ipython3
value = 1 + 1
```

```{code-cell} ipython3
:tags: [hide-input]

assert value == 2
```

```{solution-end}
```

```{exercise}
:label: ex-two

*Pen and paper, hard, 60 min; objective 2.* Show it.
```

```{solution-start} ex-two
:class: dropdown
```

By hand.

```{solution-end}
```
"""


def test_the_parser_reads_a_well_formed_chapter():
    chapter = parse_chapter(GOOD)
    assert [e.label for e in chapter.exercises] == ["ex-one", "ex-two"]
    assert [e.objectives for e in chapter.exercises] == [[1, 2], [2]]
    assert [e.difficulty for e in chapter.exercises] == [["easy"], ["hard"]]
    assert len(chapter.objectives) == 2 and chapter.objectives[1].startswith("do another thing")
    assert [len(s.code_cells) for s in chapter.solutions] == [2, 0]
    assert solution_problems(chapter) == [] and objective_problems(chapter) == []


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.replace("```{solution-end}\n```\n\n```{exercise}", "```{exercise}", 1), "no solution-end"),
        (lambda t: t.replace("{solution-start} ex-two", "{solution-start} ex-three"), "has 0 solutions"),
        (
            lambda t: t + "\n```{solution-start} ex-one\n:class: dropdown\n```\n\n```{solution-end}\n```\n",
            "has 2 solutions",
        ),
        (
            lambda t: t.replace("```{solution-start} ex-two\n:class: dropdown\n```", "````{solution} ex-two"),
            "old {solution}",
        ),
        (lambda t: t.replace("By hand.", "```python\nprint(1)\n```"), "plain python fence"),
        (lambda t: t.replace(":class: dropdown\n```\n\nBy hand.", "```\n\nBy hand."), "not a dropdown"),
        (lambda t: t.replace("assert value == 2", "print(value)"), "asserts nothing"),
        (lambda t: t.replace(":tags: [hide-input]\n\n", ""), "asserts nothing"),
    ],
)
def test_the_parser_reports_a_malformed_solution(change, message):
    broken = change(GOOD)
    assert broken != GOOD
    problems = solution_problems(parse_chapter(broken))
    assert any(message in p for p in problems), problems


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.replace("objective 2.*", "objective 3.*"), "names objective(s) [3]"),
        (lambda t: t.replace("objectives 1, 2.*", "objective 2.*"), "objective 1 (do one thing"),
        (lambda t: t.replace("; objective 2.*", ".*"), "names no objective"),
        (lambda t: t.replace("hard, 60 min", "60 min"), "needs one difficulty"),
        (lambda t: t.replace("hard, 60 min", "hardly, 60 min"), "needs one difficulty"),
        (lambda t: t.replace("{admonition} Learning objectives", "{admonition} Goals"), "no Learning objectives"),
    ],
)
def test_the_parser_reports_a_wrong_objective_or_difficulty(change, message):
    broken = change(GOOD)
    assert broken != GOOD
    problems = objective_problems(parse_chapter(broken))
    assert any(message in p for p in problems), problems


# ---------------------------------------------------------------------------------------------------------
# The chapters


def test_the_exercise_chapters_come_from_the_table_of_contents():
    assert EXERCISE_CHAPTERS and "intro" in CHAPTERS and "summary" in CHAPTERS
    with_exercises = {
        p.stem
        for p in (ROOT / "book").glob("*.md")
        if not p.name.startswith("_") and "{exercise}" in p.read_text(encoding="utf-8")
    }
    assert with_exercises <= set(EXERCISE_CHAPTERS), (
        f"chapters with exercises outside the toc: {with_exercises - set(EXERCISE_CHAPTERS)}"
    )


@pytest.mark.parametrize("name", EXERCISE_CHAPTERS)
def test_every_chapter_with_code_has_at_least_two_exercises(chapters, name):
    assert len(chapters[name].exercises) >= 2, f"{name}: {len(chapters[name].exercises)} exercise(s)"


@pytest.mark.parametrize("name", EXERCISE_CHAPTERS)
def test_every_exercise_has_one_gated_executed_solution(chapters, name):
    problems = solution_problems(chapters[name])
    assert not problems, f"{name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", EXERCISE_CHAPTERS)
def test_every_objective_is_assessed_and_every_named_objective_exists(chapters, name):
    problems = objective_problems(chapters[name])
    assert not problems, f"{name}:\n" + "\n".join(problems)


def test_exercise_labels_are_unique_in_the_book(chapters):
    labels = [e.label for c in chapters.values() for e in c.exercises]
    assert len(labels) == len(set(labels)), sorted(label for label in labels if labels.count(label) > 1)


def test_at_least_three_exercises_are_hard(chapters):
    hard = [f"{name}:{e.label}" for name, c in chapters.items() for e in c.exercises if "hard" in e.difficulty]
    assert len(hard) >= 3, hard
