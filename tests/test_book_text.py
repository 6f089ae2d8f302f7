"""Statements that were wrong once and must not come back (chapters, README, package docstrings).

Each entry is a phrase (compared with whitespace collapsed and case ignored) and why it is wrong.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted(ROOT.glob("book/*.md")) + [ROOT / "README.md"] + sorted((ROOT / "ggd_tutorial").rglob("*.py"))

WRONG = {
    # the class border: with a state-dependent Xi, GGD with a concave S is the class of flows with a
    # concave strict Lyapunov function; what it excludes is local (a complex spectrum at a rest
    # point where the mobility is smooth), and a driven cycle or a damped oscillator can be GGD
    "outside the GGD class": "the oscillator and driven cycles are not outside the class",
    "outside the class": "the oscillator and driven cycles are not outside the class",
    "not GGD at all": "a driven cycle can be GGD with another entropy",
    "no GGD, with any entropy": "a driven cycle can be GGD with another entropy",
    "otherwise not GGD |": "a driven cycle is not GGD only with the ideal-solution entropy and a smooth mobility",
    "cannot follow the rotation": "a smooth rank-one GGD follows it; the trained network does not",
    "whatever its training": "the miss is the architecture's bias at its budget",
    "evidence *for* the GGD assumption": "a small GGD error is weak evidence: most stable flows have a concave Lyapunov function",
    "GGD cannot fit it": "the trained GGD network misses it; the class does not exclude it",
    "can only approximate it by a detailed-balanced": "a GGD with another entropy can reproduce a driven cycle",
    "no GGD model can,": "only a GGD whose mobility is smooth at the rest point has a real spectrum there",
    "a spiralling system is outside": "GGD trajectories can spiral away from the rest point",
    # the second law along rollouts: the chapters print the continuous-time rate at rollout states,
    # which is non-negative at every state by construction, not S(x_{n+1}) >= S(x_n)
    "each system chapter checks it": "the chapters check the continuous-time rate, not the steps",
    "every chapter asserted $\\dot S\\ge 0$ along predicted trajectories": "what was checked is the rate at the states",
    "entropy along its own rollouts, by construction": "by construction only in continuous time",
    "integrator keeps it only below its stability limit": "below the limit it is guaranteed for linear models only",
    # smaller corrections
    "than any training budget": "the budgets tried went up to 5x",
    "beats any training budget": "the budgets tried went up to 5x",
    "a local quadratic model can learn that operator": "(R - R^-1) / 2 dt is not local",
    "X_n=-\\sum_m x^*_m\\nu_{mn}": "with x* = -mu/T that sign makes positive X drive the reaction backward",
    "both relative errors are small again": "they are 8 % and 25 % in one run, and not asserted",
    "# close to 4": "the printed orders are 3.26 and 3.77",
    "(without the quadratic term) need not be bounded": "with it S need not be bounded either; only entropy_coercive > 0",
    # exercise solutions: claims that were stronger than what the data or a run show
    "the potential must become": "with S given, the data fix the slope of Xi at the visited conjugates, not its values",
    "far from the data they may still diverge": "in the runs measured the reaction-MLP baseline came to rest; say what was run",
}


def normalized(text: str) -> str:
    return re.sub(r"\s+", " ", text).lower()


TEXTS = {f.relative_to(ROOT).as_posix(): normalized(f.read_text(encoding="utf-8")) for f in FILES}


@pytest.mark.parametrize("phrase", sorted(WRONG))
def test_a_corrected_statement_does_not_come_back(phrase):
    needle = normalized(phrase)
    found = [name for name, text in TEXTS.items() if needle in text and name != "tests/test_book_text.py"]
    assert not found, f"{phrase!r} in {found}: {WRONG[phrase]}"


def test_the_corrections_are_there():
    """The precise statements that replaced them (a negative control for the greps above)."""
    theory = TEXTS["book/gradient_dynamics.md"]
    assert "concave strict lyapunov function" in theory
    assert "a mobility smooth at rest" in theory
    assert "casimir" in theory
    assert "fenchel-young" in theory
    assert "x_n=\\sum_m\\nu_{mn}x^*_m" in TEXTS["book/notation.md"]


def test_numbers_the_exercise_solutions_state():
    """ex-local-field: 34 RK4 substeps at the real stability limit 2.785, 48 with the package's
    margin; ex-rk4: orders 3.26, 3.77, then 3.90 and 3.96 as the steps shrink."""
    import math

    import torch

    from ggd_tutorial import FickianDiffusion, rk4_step
    from ggd_tutorial.book.experiments import stable_substeps

    fine = FickianDiffusion(points=512, D=3e-3)
    fastest = 4 * fine.D / fine.h**2
    assert round(fastest) == 3146
    assert math.ceil(0.03 * fastest / 2.785) == 34 and stable_substeps(fine, 0.03) == 48

    exact = 1 / math.sqrt(3.0)
    errors = []
    for n in (16, 32, 64, 128, 256):
        x = torch.tensor([[1.0]], dtype=torch.float64)
        for _ in range(n):
            x = rk4_step(lambda z: -(z**3), x, 1 / n)
        errors.append(abs(float(x) - exact))
    orders = [round(math.log2(a / b), 2) for a, b in zip(errors, errors[1:])]
    assert orders == [3.26, 3.77, 3.9, 3.96]
