"""The form of an instructor's key for ``make_coursework.py --key PATH``: an example, not a key.

A key is a Python file of the instructor's, kept out of the repository (this one is public, so its
answers are public too: it shows the form, and the tests use it). It may define

``QUESTIONS``
    chapter -> list of :class:`assignments.Question`. A question with a public question's name
    replaces it; the others come after the public ones.
``MANUAL``
    chapter -> list of :class:`assignments.Manual` (graded by hand), the same way.
``WITHDRAW``
    chapter -> names of public questions (or questions graded by hand) to leave out, e.g. those whose
    reference answers anybody can read in ``tools/assignments.py``.
``SALT``
    a secret string that enters every student's parameter draw: without the key, nobody can tell
    which parameters a student gets, and a new salt each term gives new draws.

Write each question as in ``tools/assignments.py``: the reference answer and the checks run in the
grading process only; the probe runs in the student's process, where it arrives by value without
the rest of the key, so a probe must call the student's functions and nothing of the key (no
reference, no check).
"""

from __future__ import annotations

import torch
from assignments import Check, Question, _close, _tensor, call  # the public questions' helpers

SALT = "replace with a secret of your own, new each term"

WITHDRAW = {"gradient_dynamics": ["entropy-production"]}

_SHAPE = torch.tensor([[2.0, -1.0], [-1.0, 2.0]], dtype=torch.float64)


def _onsager_reference(y: torch.Tensor, m: float) -> torch.Tensor:
    return y @ (m * _SHAPE)


def _onsager_inputs() -> dict:
    gen = torch.Generator().manual_seed(3)
    return {"batch": torch.randn(40, 2, generator=gen, dtype=torch.float64), "one": torch.tensor([[0.3, -1.2]])}


def _onsager_probe(ns: dict, inp: dict) -> dict:
    return {k: call(ns["onsager_velocity"], inp[k].to(torch.float64)) for k in ("batch", "one")}


def _onsager_case(which: str):
    def test(inp: dict, out: dict) -> None:
        y = inp[which].to(torch.float64)
        got = _tensor(out[which], "onsager_velocity(y)", y.shape)
        expected = _onsager_reference(y, inp["params"]["m"])
        _close(got, expected, f"dXi/dy on the {which} batch (check the scale of M and the factor 1/2)", rtol=1e-10)

    return test


QUESTIONS = {
    "gradient_dynamics": [
        Question(
            "onsager-velocity",
            "The quadratic dissipation potential $\\Xi(\\mathbf y)=\\tfrac12\\mathbf y^\\top M\\mathbf y$ with "
            "$M = <<m>>\\begin{pmatrix}2&-1\\\\-1&2\\end{pmatrix}$ (`PARAMS['m']`) gives Onsager's linear "
            "law. Write `onsager_velocity(y)`: $\\partial\\Xi/\\partial\\mathbf y$ for a batch `y` of shape "
            "`(n, 2)`, one row per state.",
            "def onsager_velocity(y):\n    ### BEGIN SOLUTION\n"
            "    M = PARAMS['m'] * torch.tensor([[2.0, -1.0], [-1.0, 2.0]], dtype=y.dtype)\n"
            "    return y @ M\n    ### END SOLUTION",
            "y = torch.randn(5, 2, dtype=torch.float64)\nv = onsager_velocity(y)\n"
            "assert v.shape == y.shape, 'one velocity per state'\n"
            "assert ((v * y).sum(-1) >= -1e-12).all(), 'y . dXi/dy = 2 Xi >= 0'",
            ("onsager_velocity",),
            _onsager_inputs,
            _onsager_probe,
            (Check(2, _onsager_case("batch")), Check(1, _onsager_case("one"))),
            parameters={"m": (1.0, (0.5, 2.0, 3.0))},
        )
    ]
}
