"""The gradeable assignments, one per chapter with code: questions, reference answers and how each is graded.

Each :class:`Question` becomes three nbgrader cells: the prompt (read-only), the answer cell (the
reference between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, replaced by a stub in the
student copy) and a read-only check cell that runs the public self-check of
:mod:`ggd_tutorial.book.exercises` (it tells the student what is wrong; it awards nothing).

The points come from ``python tools/make_coursework.py grade``, never from the student's kernel:
an answer cell can patch anything in the process it runs in (``torch.allclose``, a checker, the
kernel's input transformers), so the student's code runs in a separate process with the package's
own versions of what the question asks switched off (:attr:`Question.disabled`), a *probe* calls
the student's functions there on inputs the grader chose, and only the returned numbers travel
back; the references and the comparisons (the :attr:`Question.checks`, each worth part of the
points) run in the grading process, which no student code ever enters. Every answer runs in
seconds: no training.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

SETUP = """\
import math
import torch
import ggd_tutorial as g
from ggd_tutorial.book import experiments as ex"""


#: A secret of the instructor's key (:func:`load_key`) that enters every student's parameter draw, so
#: that nobody without the key can tell which parameters a student gets, and a new salt each term
#: gives new draws; empty (the draws of this file) without a key.
SALT = ""


class Wrong(Exception):
    """A check failed; the message (what is wrong, never the answer) goes to the student."""


@dataclass(frozen=True)
class Check:
    """One graded property of an answer, worth ``points``; ``test(inputs, outputs)`` raises :class:`Wrong`."""

    points: float
    test: Callable[[dict, dict], None]


@dataclass(frozen=True)
class Question:
    """One autograded question: ``name`` is its grade id (``<name>-answer`` is the answer cell).

    ``defines``: the names the answer must define; ``disabled``: dotted names of the package's own
    versions, replaced by a function that raises while the student's code runs; ``inputs()``: the
    grader's inputs (tensors and numbers); ``probe(namespace, inputs)``: runs in the student's
    process and returns the student's outputs (see :func:`call`); ``checks``: the graded properties
    (they find the student's parameters in ``inputs["params"]``); ``parameters``: name -> (the book's
    value, the values a student may draw), shown in the prompt as ``<<name>>`` and to the student's
    code as ``PARAMS[name]``.
    """

    name: str
    prompt: str
    solution: str
    public: str
    defines: tuple[str, ...]
    inputs: Callable[[], dict]
    probe: Callable[[dict, dict], dict]
    checks: tuple[Check, ...]
    disabled: tuple[str, ...] = ()
    parameters: dict[str, tuple[float, tuple[float, ...]]] = field(default_factory=dict)

    @property
    def points(self) -> float:
        return sum(c.points for c in self.checks)

    def render(self, params: dict) -> str:
        """The prompt with the student's parameters in it."""
        text = self.prompt
        for name, value in params.items():
            text = text.replace(f"<<{name}>>", f"{value:g}")
        return text


def parameters(chapter: str, student: str | None = None) -> dict[str, float]:
    """The parameters of one student (drawn from a seed tied to the assignment, the student id and
    the key's :data:`SALT`, if a key set one), or the book's values when ``student`` is None."""
    seed = f"{chapter}/{student}" if not SALT else f"{SALT}/{chapter}/{student}"
    rng = random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))
    params = {}
    for q in ASSIGNMENTS[chapter]:
        for name, (default, choices) in q.parameters.items():
            params[name] = default if student is None else rng.choice(choices)
    return params


def setup_source(params: dict) -> str:
    """The setup cell: the imports and, when the assignment has any, the student's parameters."""
    return SETUP + (f"\nPARAMS = {params!r}  # your parameters" if params else "")


def _param(inp: dict, name: str) -> float:
    return inp["params"][name]


def _check(call_source: str) -> str:
    """A public check cell: run a self-check and show its message."""
    return f"feedback = {call_source}\nprint(feedback)\nassert feedback, feedback.message"


# ---------------------------------------------------------------------------------------------
# In the student's process: call the student's function and encode what it returns as plain data
# (JSON), so that nothing but numbers reaches the grader. The references to torch are taken here,
# at import, before any student code runs.

_GRAD = torch.autograd.grad
_TENSOR = torch.Tensor


def encode(value: Any) -> dict:
    """A student's return value as JSON-able data: a tensor, a number or a sequence of them."""
    if isinstance(value, _TENSOR):
        return {"tensor": value.detach().to("cpu", torch.float64).tolist()}
    if isinstance(value, bool):
        return {"type": "bool"}
    if isinstance(value, (int, float)):
        return {"number": float(value)}
    if isinstance(value, (tuple, list)):
        return {"items": [encode(v) for v in value]}
    if hasattr(value, "__array__") and not isinstance(value, (str, bytes)):
        try:
            return {"tensor": torch.as_tensor(value.__array__(), dtype=torch.float64).tolist()}
        except Exception:  # noqa: BLE001
            pass
    if value is None:
        return {"type": "None"}
    return {"type": type(value).__name__}


def _error(err: BaseException) -> dict:
    return {"error": f"{type(err).__name__}: {err}"[:300]}


def call(fn: Callable, *args: Any) -> dict:
    """``fn(*args)`` encoded; tensor arguments are cloned, an exception is reported, never raised."""
    args = tuple(a.clone() if isinstance(a, _TENSOR) else a for a in args)
    try:
        return encode(fn(*args))
    except Exception as err:  # noqa: BLE001 - any error of the student's code is reported
        return _error(err)


def call_with_grad(fn: Callable, wrt: int, *args: Any) -> dict:
    """``fn(*args)`` and the autograd gradient of its sum with respect to argument ``wrt``."""
    args = [a.clone() if isinstance(a, _TENSOR) else a for a in args]
    args[wrt] = args[wrt].detach().requires_grad_(True)
    try:
        value = fn(*args)
        (grad,) = _GRAD(value.sum(), args[wrt], allow_unused=True)
    except Exception as err:  # noqa: BLE001
        return _error(err)
    return {"value": encode(value), "grad": encode(grad)}


# ---------------------------------------------------------------------------------------------
# In the grading process: decode and compare.


def _value(out: Any, what: str) -> dict:
    if not isinstance(out, dict):
        raise Wrong(f"{what}: no result came back")
    if "error" in out:
        if "switched off" in out["error"]:
            raise Wrong(f"{what} uses the package's own implementation, which this question asks you to write")
        raise Wrong(f"{what} raised {out['error']}")
    return out


def _tensor(out: Any, what: str, shape: tuple | None = None) -> torch.Tensor:
    out = _value(out, what)
    if "tensor" not in out:
        raise Wrong(f"{what} must return a tensor, got {out.get('type', 'a ' + next(iter(out), 'nothing'))}")
    try:
        t = torch.tensor(out["tensor"], dtype=torch.float64)
    except (TypeError, ValueError) as err:
        raise Wrong(f"{what} returned something that is not a tensor of numbers") from err
    if shape is not None and tuple(t.shape) != tuple(shape):
        raise Wrong(f"{what} returned shape {tuple(t.shape)}, expected {tuple(shape)}")
    return t


def _number(out: Any, what: str) -> float:
    out = _value(out, what)
    if "number" in out:
        return out["number"]
    if "tensor" in out:
        t = torch.tensor(out["tensor"], dtype=torch.float64)
        if t.numel() == 1:
            return float(t)
    raise Wrong(f"{what} must return one number, got {out.get('type', 'several values')}")


def _pair(out: Any, what: str) -> tuple[dict, dict]:
    out = _value(out, what)
    items = out.get("items")
    if items is None or len(items) != 2:
        raise Wrong(f"{what} must return a pair (k_f, k_b)")
    return items[0], items[1]


def _close(got: torch.Tensor, expected: torch.Tensor, what: str, rtol: float = 1e-9, atol: float = 1e-12) -> None:
    expected = expected.to(torch.float64)
    if got.shape != expected.shape:
        raise Wrong(f"{what}: shape {tuple(got.shape)}, expected {tuple(expected.shape)}")
    if not torch.isfinite(got).all():
        raise Wrong(f"{what}: not finite at {int((~torch.isfinite(got)).sum())} of {got.numel()} values")
    bad = ~torch.isclose(got, expected, rtol=rtol, atol=atol)
    if bad.any():
        raise Wrong(f"{what}: wrong at {int(bad.sum())} of {got.numel()} values")


def _rng(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------------------------------------
# gradient_dynamics


def _cosh_dual_ref(v: torch.Tensor, a: float) -> torch.Tensor:
    return v * torch.asinh(a * v) / a - (torch.sqrt(1 + (a * v) ** 2) - 1) / a**2


def _cosh_inputs() -> dict:
    return {
        "mid": torch.linspace(-5, 5, 101, dtype=torch.float64),
        "far": torch.linspace(-40, 40, 161, dtype=torch.float64),
    }


def _cosh_probe(ns: dict, inp: dict) -> dict:
    return {k: call(ns["my_cosh_dual"], inp[k]) for k in ("mid", "far")}


def _cosh_mid(inp: dict, out: dict) -> None:
    got = _tensor(out["mid"], "my_cosh_dual(v)", inp["mid"].shape)
    _close(got, _cosh_dual_ref(inp["mid"], _param(inp, "a")), "the dual on [-5, 5]", rtol=1e-8, atol=1e-10)


def _cosh_far(inp: dict, out: dict) -> None:
    got = _tensor(out["far"], "my_cosh_dual(v)", inp["far"].shape)
    _close(
        got, _cosh_dual_ref(inp["far"], _param(inp, "a")), "the dual for large |v| (up to 40)", rtol=1e-8, atol=1e-10
    )


def _production_models() -> list:
    import ggd_tutorial as g

    models = []
    for seed, dim, hidden in ((0, 3, (8,)), (1, 2, (8, 8))):
        torch.manual_seed(seed)
        models.append(g.GradientDynamicsModel(dim, hidden=hidden).double())
    return models


def _production_inputs() -> dict:
    models = _production_models()
    return {
        "states": [m.state_dict() for m in models],
        "x": [
            torch.randn(50, 3, generator=_rng(1), dtype=torch.float64),
            torch.randn(1, 2, generator=_rng(2), dtype=torch.float64),
        ],
    }


def _production_probe(ns: dict, inp: dict) -> dict:
    models = _production_models()
    out = {}
    for i, (model, state, x) in enumerate(zip(models, inp["states"], inp["x"])):
        model.load_state_dict(state)
        out[str(i)] = call(ns["production"], model, x)
    return out


def _production_ref(model, x: torch.Tensor, a: float) -> torch.Tensor:
    """dS_a/dt of S_a = a S along the flow of the pair (a S, Xi): a x* . dXi/dy(x, a x*)."""
    x_star = model.conjugate(x)
    return (a * x_star * model.dissipation_gradient(x, a * x_star)).sum(-1).detach()


def _production_case(i: int, what: str) -> Callable[[dict, dict], None]:
    def test(inp: dict, out: dict) -> None:
        model = _production_models()[i]
        model.load_state_dict(inp["states"][i])
        x = inp["x"][i]
        expected = _production_ref(model, x, _param(inp, "a"))
        got = _tensor(out[str(i)], "production(model, x)", expected.shape)
        _close(got, expected, what, rtol=1e-8, atol=1e-12)

    return test


GRADIENT_DYNAMICS = [
    Question(
        "cosh-dual",
        "Implement the Legendre dual $\\Xi^*(v)=\\sup_y\\,(vy-\\Xi(y))$ of "
        "$\\Xi(y)=(\\cosh(ay)-1)/a^2$ with $a = <<a>>$ (`PARAMS['a']`) as `my_cosh_dual(v)` for a "
        "float64 tensor `v` (exercise `ex-cosh-dual` is the case $a = 1$).",
        "def my_cosh_dual(v):\n    ### BEGIN SOLUTION\n    a = PARAMS['a']\n"
        "    return v * torch.asinh(a * v) / a - (torch.sqrt(1 + (a * v) ** 2) - 1) / a**2\n    ### END SOLUTION",
        "v = torch.linspace(-3, 3, 61, dtype=torch.float64)\nw = my_cosh_dual(v)\n"
        "assert w.shape == v.shape, 'one value per v'\n"
        "assert torch.allclose(w, my_cosh_dual(-v)), 'Xi is even, so is its dual'\n"
        "assert (w[2:] - 2 * w[1:-1] + w[:-2] >= -1e-12).all(), 'a Legendre dual is convex'",
        ("my_cosh_dual",),
        _cosh_inputs,
        _cosh_probe,
        (Check(2, _cosh_mid), Check(1, _cosh_far)),
        parameters={"a": (1.0, (0.5, 1.5, 2.0, 2.5, 3.0))},
    ),
    Question(
        "entropy-production",
        "Measure the entropy in other units: $S_a=aS$ with $a = <<a>>$ (`PARAMS['a']`, the $a$ of "
        "Question 1), and keep the dissipation potential $\\Xi$. The pair $(S_a,\\Xi)$ is again a "
        "generalized gradient dynamics, with its own conjugate and its own velocity. For a "
        "`g.GradientDynamicsModel` (its $S$ and $\\Xi$), write `production(model, x)`: the entropy "
        "production $\\dot S_a$ along the flow of the pair $(S_a,\\Xi)$, one value per state, from "
        "`model.conjugate` and `model.dissipation_gradient(x, y)` ($\\partial\\Xi/\\partial\\mathbf y$ "
        "at $(\\mathbf x,\\mathbf y)$). With $a = 1$ it is the model's own production, which exercise "
        "`ex-second-law` shows is never negative.",
        "def production(model, x):\n    ### BEGIN SOLUTION\n"
        "    a = PARAMS['a']\n"
        "    conjugate = a * model.conjugate(x)  # dS_a/dx\n"
        "    velocity = model.dissipation_gradient(x, conjugate)  # the flow of the pair (S_a, Xi)\n"
        "    return (conjugate * velocity).sum(-1)\n    ### END SOLUTION",
        "torch.manual_seed(0)\nmodel = g.GradientDynamicsModel(3, hidden=(8,)).double()\n"
        "x = torch.randn(20, 3, dtype=torch.float64)\nrate = production(model, x)\n"
        "assert rate.shape == (20,), 'one value per state'\n"
        "assert (rate >= -1e-12).all(), 'the second law: never negative'",
        ("production",),
        _production_inputs,
        _production_probe,
        (
            Check(1, _production_case(0, "the production of a 3-D model at 50 states")),
            Check(1, _production_case(1, "the production of a 2-D model with two hidden layers at one state")),
        ),
        ("ggd_tutorial.networks.GradientDynamicsModel.entropy_production", "ggd_tutorial.metrics.entropy_production"),
    ),
]


# ---------------------------------------------------------------------------------------------
# icnn


def _positive_ref(raw: torch.Tensor, eps: float, knee: float) -> torch.Tensor:
    return torch.where(raw >= knee, raw - knee + math.exp(knee - eps), torch.exp(torch.clamp(raw, max=knee) - eps))


def _positive_inputs() -> dict:
    return {
        "mid": torch.linspace(-50, 50, 2001, dtype=torch.float64),
        "far": torch.linspace(-1000, 1000, 2001, dtype=torch.float64),
    }


def _positive_probe(ns: dict, inp: dict) -> dict:
    return {k: call_with_grad(ns["my_positive"], 0, inp[k]) for k in ("mid", "far")}


def _positive_values(inp: dict, out: dict) -> None:
    got = _tensor(_value(out["mid"], "my_positive(raw)")["value"], "my_positive(raw)", inp["mid"].shape)
    if (got <= 0).any():
        raise Wrong("some weights are not positive")
    expected = _positive_ref(inp["mid"], _param(inp, "eps"), _param(inp, "knee"))
    _close(got, expected, "the weights on [-50, 50]", rtol=1e-9, atol=1e-300)


def _positive_extreme(inp: dict, out: dict) -> None:
    result = _value(out["far"], "my_positive(raw)")
    got = _tensor(result["value"], "my_positive(raw)", inp["far"].shape)
    eps, knee = _param(inp, "eps"), _param(inp, "knee")
    _close(got, _positive_ref(inp["far"], eps, knee), "the weights on [-1000, 1000]", rtol=1e-9, atol=1e-300)
    grad = _value(result["grad"], "the gradient")
    if "tensor" not in grad:
        raise Wrong("my_positive(raw) is not differentiable with respect to raw")
    grad = _tensor(grad, "the gradient", inp["far"].shape)
    raw = inp["far"]
    expected = torch.where(raw >= knee, torch.ones_like(raw), torch.exp(torch.clamp(raw, max=knee) - eps))
    _close(grad, expected, "the gradient with respect to raw on [-1000, 1000]", rtol=1e-9, atol=1e-300)


def _psi(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.logsumexp(y + x, -1) + (x * y).sum(-1)


def _xi_ref(x: torch.Tensor, y: torch.Tensor, b: float) -> torch.Tensor:
    """The shift of Psi at y0 = b e_1: Psi(x, y) - Psi(x, y0) - (y - y0) . dPsi/dy(x, y0). (Psi is affine
    along (1, ..., 1), so a point on that line would not move the minimum.)"""
    with torch.enable_grad():
        y0 = _vonn_point(y, b).requires_grad_(True)
        (g0,) = torch.autograd.grad(_psi(x, y0).sum(), y0, create_graph=True)
    return _psi(x, y) - _psi(x, y0) - ((y - y0) * g0).sum(-1)


_VONN_B = (0.0, (-1.0, -0.5, 0.5, 1.0))


def _vonn_point(like: torch.Tensor, b: float) -> torch.Tensor:
    y0 = torch.zeros_like(like)
    y0[..., 0] = b
    return y0


def _vonn_inputs() -> dict:
    return {
        "x": torch.randn(16, 3, generator=_rng(3), dtype=torch.float64),
        "y": 2 * torch.randn(16, 3, generator=_rng(4), dtype=torch.float64),
        "h": 1e-5,
        "b": (_VONN_B[0], *_VONN_B[1]),
    }


def _vonn_probe(ns: dict, inp: dict) -> dict:
    xi, x, h = ns["xi"], inp["x"], inp["h"]
    out = {"far": call_with_grad(xi, 0, x, inp["y"])}
    for b in inp["b"]:  # every point a student may be given: the probe does not know which
        at = _vonn_point(x, b)
        out[f"{b:g}"] = call(xi, x, at)
        for k in range(x.shape[1]):
            step = torch.zeros_like(x)
            step[:, k] = h
            out[f"{b:g}+{k}"], out[f"{b:g}-{k}"] = call(xi, x, at + step), call(xi, x, at - step)
    return out


def _vonn_zero(inp: dict, out: dict) -> None:
    got = _tensor(out[f"{_param(inp, 'b'):g}"], "xi(x, y)", (inp["x"].shape[0],))
    if not torch.isfinite(got).all() or got.abs().max() > 1e-10:
        raise Wrong("Xi is not zero at its prescribed minimum")


def _vonn_slope(inp: dict, out: dict) -> None:
    x, h, b = inp["x"], inp["h"], _param(inp, "b")
    for k in range(x.shape[1]):
        up = _tensor(out[f"{b:g}+{k}"], "xi(x, y)", (x.shape[0],))
        down = _tensor(out[f"{b:g}-{k}"], "xi(x, y)", (x.shape[0],))
        slope = (up - down) / (2 * h)
        if not torch.isfinite(slope).all() or slope.abs().max() > 1e-6:
            raise Wrong("dXi/dy is not zero at the prescribed minimum")


def _vonn_shift(inp: dict, out: dict) -> None:
    result = _value(out["far"], "xi(x, y)")
    got = _tensor(result["value"], "xi(x, y)", (inp["x"].shape[0],))
    x = inp["x"].clone().requires_grad_(True)
    with torch.enable_grad():
        expected = _xi_ref(x, inp["y"], _param(inp, "b"))
        (grad,) = torch.autograd.grad(expected.sum(), x)
    _close(got, expected.detach(), "Xi at random (x, y): not the shift of Psi", rtol=1e-9, atol=1e-10)
    got_grad = _value(result["grad"], "the gradient of xi in x")
    if "tensor" not in got_grad:
        raise Wrong("xi(x, y) is not differentiable in x (a model trains through it)")
    _close(
        _tensor(got_grad, "the gradient in x"),
        grad,
        "the autograd gradient of Xi in x (trained through)",
        rtol=1e-8,
        atol=1e-10,
    )


ICNN = [
    Question(
        "positive-weight",
        "Implement a positive reparameterization with a knee, `my_positive(raw)`: "
        "$w = e^{\\mathrm{raw}-\\epsilon}$ for $\\mathrm{raw}<t$ and $w = \\mathrm{raw} + c$ for "
        "$\\mathrm{raw}\\ge t$, with $\\epsilon = <<eps>>$ (`PARAMS['eps']`), the knee $t = <<knee>>$ "
        "(`PARAMS['knee']`) and the constant $c$ that makes $w$ continuous at the knee. With $t = 0$ it is "
        "eq. (3.6) (exercise `ex-reparam`). It must be positive, and differentiable with a finite gradient "
        "for every raw weight, large ones too.",
        "def my_positive(raw):\n    ### BEGIN SOLUTION\n    eps, knee = PARAMS['eps'], PARAMS['knee']\n"
        "    line = raw + (math.exp(knee - eps) - knee)  # equals exp(knee - eps) at the knee\n"
        "    curve = torch.exp(torch.minimum(raw, torch.full_like(raw, knee)) - eps)  # no overflow for large raw\n"
        "    return torch.where(raw >= knee, line, curve)\n"
        "    ### END SOLUTION",
        "raw = torch.linspace(-20, 20, 4001, dtype=torch.float64)\nw = my_positive(raw)\n"
        "assert w.shape == raw.shape and (w > 0).all(), 'one positive weight per raw weight'\n"
        "assert (w[1:] >= w[:-1]).all(), 'the weights grow with raw'\n"
        "assert (w[1:] - w[:-1]).abs().max() < 0.011, 'no jump: continuous at the knee'",
        ("my_positive",),
        _positive_inputs,
        _positive_probe,
        (Check(1, _positive_values), Check(1, _positive_extreme)),
        ("ggd_tutorial.networks.positive_weight",),
        parameters={"eps": (5.0, (3.0, 4.0, 6.0, 7.0)), "knee": (0.0, (1.0, 2.0, 3.0))},
    ),
    Question(
        "vonn-shift",
        "Given the convex `psi(x, y)` below, write `xi(x, y)` with its minimum at "
        "$\\mathbf y_0=(b,0,0)$, $b = <<b>>$ (`PARAMS['b']`): $\\Xi(\\mathbf x,\\mathbf y_0)=0$ and "
        "$\\partial\\Xi/\\partial\\mathbf y(\\mathbf x,\\mathbf y_0)=\\mathbf 0$, by the shift of the thesis "
        "taken at $\\mathbf y_0$ (exercise `ex-vonn` is the case $b = 0$; with $b\\neq0$ the system relaxes to "
        "$\\mathbf x^*=\\mathbf y_0$, as one that exchanges with a reservoir). A model trains through "
        "$\\Xi$: it must be differentiable in $\\mathbf x$.\n\n"
        "```python\ndef psi(x, y):\n    return torch.logsumexp(y + x, -1) + (x * y).sum(-1)\n```",
        "def psi(x, y):\n    return torch.logsumexp(y + x, -1) + (x * y).sum(-1)\n\n"
        "def xi(x, y):\n    ### BEGIN SOLUTION\n"
        "    y0 = torch.zeros_like(y)\n    y0[..., 0] = PARAMS['b']  # (b, 0, 0)\n    y0.requires_grad_(True)\n"
        "    (slope,) = torch.autograd.grad(psi(x, y0).sum(), y0, create_graph=True)  # a model trains through it\n"
        "    return psi(x, y) - psi(x, y0) - ((y - y0) * slope).sum(-1)\n    ### END SOLUTION",
        "x = torch.randn(8, 3, dtype=torch.float64)\ny0 = torch.zeros(8, 3, dtype=torch.float64)\n"
        "y0[:, 0] = PARAMS['b']\n"
        "assert xi(x, y0).abs().max() < 1e-10, 'Xi(x, y0) = 0'\n"
        "assert (xi(x, 2 * torch.randn(8, 3, dtype=torch.float64)) >= -1e-12).all(), 'Xi >= 0: y0 is its minimum'",
        ("xi",),
        _vonn_inputs,
        _vonn_probe,
        (Check(1, _vonn_zero), Check(1, _vonn_slope), Check(1, _vonn_shift)),
        parameters={"b": _VONN_B},
    ),
]


# ---------------------------------------------------------------------------------------------
# overdamped


def _field(x: torch.Tensor) -> torch.Tensor:
    return torch.stack([-x[:, 1] - x[:, 0] ** 3, x[:, 0] - 0.5 * x[:, 1]], dim=1)


def _rk4_ref(f: Callable, x: torch.Tensor, dt: float, lam: float = 1.0) -> torch.Tensor:
    """One step of the fourth-order Runge--Kutta method with c_2 = c_3 = 1/2 and a_43 = lam
    (lam = 1: the classical step)."""
    k1 = f(x)
    k2 = f(x + dt / 2 * k1)
    k3 = f(x + dt * ((0.5 - 0.5 / lam) * k1 + 0.5 / lam * k2))
    k4 = f(x + dt * ((1 - lam) * k2 + lam * k3))
    return x + dt / 6 * (k1 + (4 - 2 * lam) * k2 + 2 * lam * k3 + k4)


_RK4_STEPS = (8, 16, 32)


def _rk4_inputs() -> dict:
    return {
        "x0": torch.tensor([[1.0, 0.5]], dtype=torch.float64),
        "batch": torch.randn(5, 2, generator=_rng(5), dtype=torch.float64),
        "linear": torch.tensor([[1.0, -2.0]], dtype=torch.float64),
    }


def _rk4_probe(ns: dict, inp: dict) -> dict:
    step = ns["my_rk4_step"]

    def run(n: int) -> dict:
        def steps(x: torch.Tensor) -> torch.Tensor:
            for _ in range(n):
                x = step(_field, x, 1.0 / n)
            return x

        return call(steps, inp["x0"])

    out = {str(n): run(n) for n in _RK4_STEPS}
    out["batch"] = call(step, _field, inp["batch"], 0.1)
    out["linear"] = call(step, lambda z: -z, inp["linear"], 0.1)
    return out


_RK4_REFERENCE: dict = {}


def _rk4_order(inp: dict, out: dict) -> None:
    key = tuple(inp["x0"].reshape(-1).tolist())
    if key not in _RK4_REFERENCE:
        ref = inp["x0"]
        for _ in range(1024):
            ref = _rk4_ref(_field, ref, 1.0 / 1024)
        _RK4_REFERENCE[key] = ref
    ref = _RK4_REFERENCE[key]
    errors = [float((_tensor(out[str(n)], "my_rk4_step(f, x, dt)", (1, 2)) - ref).norm()) for n in _RK4_STEPS]
    if not all(math.isfinite(e) for e in errors):
        raise Wrong("the integration does not stay finite")
    orders = [math.log2(a / b) if b > 0 else float("inf") for a, b in zip(errors, errors[1:])]
    if min(orders) < 3.5:
        raise Wrong(f"not fourth-order accurate: observed order {min(orders):.1f} on a nonlinear field")


def _rk4_tableau(inp: dict, out: dict) -> None:
    got = _tensor(out["batch"], "my_rk4_step(f, x, dt) on a batch of 5 states", (5, 2))
    _close(
        got,
        _rk4_ref(_field, inp["batch"], 0.1, _param(inp, "lam")),
        "one step on a nonlinear field: not the step of the given tableau",
        atol=1e-13,
    )


def _rk4_linear(inp: dict, out: dict) -> None:
    got = _tensor(out["linear"], "my_rk4_step(f, x, dt)", (1, 2))
    dt = 0.1
    expected = inp["linear"] * (1 - dt + dt**2 / 2 - dt**3 / 6 + dt**4 / 24)
    _close(got, expected, "one step of dx/dt = -x: not exact to fourth order in dt", atol=1e-15)


def _particle_inputs() -> dict:
    return {
        "x": torch.randn(20, 3, generator=_rng(6), dtype=torch.float64),
        "cases": [
            (torch.randn(7, 2, generator=_rng(7), dtype=torch.float64), 0.5),
            (torch.tensor([[1.5]], dtype=torch.float64), 3.0),
        ],
    }


def _particle_probe(ns: dict, inp: dict) -> dict:
    fn = ns["particle_production"]
    return {"unit": call(fn, inp["x"], 1.0), "cases": [call(fn, x, gamma) for x, gamma in inp["cases"]]}


def _particle_truth(x: torch.Tensor, gamma: float, kappa: float) -> torch.Tensor:
    x_star = -kappa * x  # dS/dx of S = -kappa/2 |x|^2
    return (x_star * gamma * x_star).sum(-1)  # x* . xdot with xdot = dXi/dx* = gamma x*


def _particle_unit(inp: dict, out: dict) -> None:
    got = _tensor(out["unit"], "particle_production(x, 1.0)", (inp["x"].shape[0],))
    _close(got, _particle_truth(inp["x"], 1.0, _param(inp, "kappa")), "dS/dt at gamma = 1")


def _particle_gamma(inp: dict, out: dict) -> None:
    for (x, gamma), result in zip(inp["cases"], out["cases"]):
        got = _tensor(result, f"particle_production(x, {gamma})", (x.shape[0],))
        _close(got, _particle_truth(x, gamma, _param(inp, "kappa")), f"dS/dt at gamma = {gamma} (d = {x.shape[1]})")


OVERDAMPED = [
    Question(
        "rk4-step",
        "Implement one step `my_rk4_step(f, x, dt)` of the explicit fourth-order Runge--Kutta method "
        "with the Butcher tableau below, $\\lambda = <<lam>>$ (`PARAMS['lam']`). Every $\\lambda\\neq0$ "
        "gives a fourth-order method; $\\lambda = 1$ is the classical step of exercise `ex-rk4`.\n\n"
        "$$\\begin{array}{c|cccc}0&&&&\\\\\\tfrac12&\\tfrac12&&&\\\\"
        "\\tfrac12&\\tfrac12-\\tfrac1{2\\lambda}&\\tfrac1{2\\lambda}&&\\\\"
        "1&0&1-\\lambda&\\lambda&\\\\\\hline"
        "&\\tfrac16&\\tfrac{2-\\lambda}3&\\tfrac\\lambda3&\\tfrac16\\end{array}$$",
        "def my_rk4_step(f, x, dt):\n    ### BEGIN SOLUTION\n    lam = PARAMS['lam']\n"
        "    a = [[0.5], [0.5 - 0.5 / lam, 0.5 / lam], [0.0, 1 - lam, lam]]  # below the diagonal\n"
        "    b = [1 / 6, (2 - lam) / 3, lam / 3, 1 / 6]\n"
        "    slopes = [f(x)]\n"
        "    for row in a:\n"
        "        slopes.append(f(x + dt * sum(w * k for w, k in zip(row, slopes))))\n"
        "    return x + dt * sum(w * k for w, k in zip(b, slopes))\n    ### END SOLUTION",
        _check("g.book.exercises.check_rk4_step(my_rk4_step)"),
        ("my_rk4_step",),
        _rk4_inputs,
        _rk4_probe,
        (Check(1, _rk4_order), Check(1, _rk4_tableau), Check(1, _rk4_linear)),
        ("ggd_tutorial.integrators.rk4_step",),
        parameters={"lam": (1.0, (0.5, 1.5, 2.0, 3.0))},
    ),
    Question(
        "particle-production",
        "For the overdamped particle with $S=-\\tfrac\\kappa2\\|x\\|^2$, $\\kappa = <<kappa>>$ "
        "(`PARAMS['kappa']`; the chapter has $\\kappa = 1$), and $\\Xi=\\tfrac\\gamma2\\|x^*\\|^2$, "
        "derive $\\dot S$ and implement it as `particle_production(x, gamma)` for a batch `x` of "
        "shape (n, d), one value per state (the second law for this chapter's system).",
        "def particle_production(x, gamma):\n    ### BEGIN SOLUTION\n"
        "    return gamma * PARAMS['kappa'] ** 2 * (x**2).sum(-1)\n    ### END SOLUTION",
        "x = torch.tensor([[1.0, 2.0], [0.0, 0.0]], dtype=torch.float64)\n"
        "assert particle_production(x, 1.0).shape == (2,), 'one value per state'\n"
        "assert particle_production(x, 1.0)[1] == 0, 'no production at the equilibrium'\n"
        "assert particle_production(x, 1.0)[0] > 0, 'the second law: positive away from it'",
        ("particle_production",),
        _particle_inputs,
        _particle_probe,
        (Check(1, _particle_unit), Check(1, _particle_gamma)),
        ("ggd_tutorial.metrics.true_entropy_rate",),
        parameters={"kappa": (1.0, (0.5, 2.0, 3.0))},
    ),
]


# ---------------------------------------------------------------------------------------------
# kinetics


def _rates_ref(
    nu: torch.Tensor, Q: torch.Tensor, W0: torch.Tensor, c0: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """k_f, k_b for S = -sum_m c_m (ln(c_m / c0) + Q_m): the chapter's formula with Q_m - ln c0 for Q_m."""
    half = ((Q + 1 - math.log(c0))[:, None] * nu).sum(0) / 2
    return W0 / 4 * torch.exp(-half), W0 / 4 * torch.exp(half)


def _rates_inputs() -> dict:
    gen = _rng(8)
    cases = []
    for species, reactions in ((4, 2), (5, 3), (3, 1)):
        nu = torch.randint(-2, 3, (species, reactions), generator=gen).to(torch.float64)
        nu[0] = torch.where(nu.abs().sum(0) == 0, torch.ones(reactions, dtype=torch.float64), nu[0])
        Q = -1 + torch.randn(species, generator=gen, dtype=torch.float64)
        W0 = 4 * torch.exp(torch.randn(reactions, generator=gen, dtype=torch.float64))
        cases.append((nu, Q, W0))
    return {"cases": cases}


def _rates_probe(ns: dict, inp: dict) -> dict:
    return {"cases": [call(ns["my_rate_constants"], *case) for case in inp["cases"]]}


def _rates_got(inp: dict, out: dict):
    for case, result in zip(inp["cases"], out["cases"]):
        kf, kb = (_tensor(k, "my_rate_constants(nu, Q, W0)") for k in _pair(result, "my_rate_constants(nu, Q, W0)"))
        ref_f, ref_b = _rates_ref(*case, _param(inp, "c0"))
        if kf.reshape(-1).shape != ref_f.shape or kb.reshape(-1).shape != ref_b.shape:
            raise Wrong(f"expected one rate per reaction ({len(ref_f)}) in k_f and in k_b")
        yield kf.reshape(-1), kb.reshape(-1), ref_f, ref_b


def _rates_product(inp: dict, out: dict) -> None:
    for kf, kb, ref_f, ref_b in _rates_got(inp, out):
        _close(kf * kb, ref_f * ref_b, "k_f k_b: check the prefactor")


def _rates_ratio(inp: dict, out: dict) -> None:
    for kf, kb, ref_f, ref_b in _rates_got(inp, out):
        _close(kf / kb, ref_f / ref_b, "k_f / k_b: detailed balance fails")


def _rates_each(inp: dict, out: dict) -> None:
    for kf, kb, ref_f, ref_b in _rates_got(inp, out):
        _close(kf, ref_f, "k_f")
        _close(kb, ref_b, "k_b")


def _kinetics_systems(inp: dict) -> list:
    import ggd_tutorial as g

    return [g.MassActionKinetics.thesis_example(), g.MassActionKinetics(inp["nu"], W0=inp["W0"], Q=inp["Q"])]


def _production_kinetics_inputs() -> dict:
    gen = _rng(9)
    return {
        "nu": torch.tensor([[-1.0, 0.0, 1.0], [1.0, -1.0, 0.0], [0.0, 1.0, -1.0]], dtype=torch.float64),
        "W0": torch.tensor([2.0, 4.0, 1.0], dtype=torch.float64),
        "Q": torch.tensor([-1.0, -0.5, 0.3], dtype=torch.float64),
        "c": [
            torch.rand(30, 4, generator=gen, dtype=torch.float64) + 0.05,
            torch.rand(1, 3, generator=gen, dtype=torch.float64) + 0.05,
        ],
    }


def _production_kinetics_probe(ns: dict, inp: dict) -> dict:
    return {
        str(i): call(ns["analytic_production"], s, c) for i, (s, c) in enumerate(zip(_kinetics_systems(inp), inp["c"]))
    }


def _production_kinetics_case(i: int, what: str) -> Callable[[dict, dict], None]:
    def test(inp: dict, out: dict) -> None:
        system, c = _kinetics_systems(inp)[i], inp["c"][i]
        expected = (system.conjugate(c) * system.velocity(c)).sum(-1)
        _close(
            _tensor(out[str(i)], "analytic_production(system, c)", expected.shape),
            expected,
            what,
            rtol=1e-9,
            atol=1e-12,
        )

    return test


KINETICS = [
    Question(
        "rate-constants",
        "Measure concentrations against a standard concentration $c^\\circ = <<c0>>$ (`PARAMS['c0']`): "
        "$S(\\mathbf c)=-\\sum_mc_m\\big(\\ln(c_m/c^\\circ)+Q_m\\big)$, with the chapter's "
        "$\\Xi=\\sum_nW_n\\big(\\cosh(X_n/2)-1\\big)$, $X_n=\\sum_m\\nu_{mn}c^*_m$, "
        "$W_n=W_0^{(n)}\\sqrt{\\prod_mc_m^{\\alpha_{mn}+\\beta_{mn}}}$ ($\\alpha$, $\\beta$ the reactant "
        "and product orders). "
        "Derive the mass-action rate constants of this GGD and implement `my_rate_constants(nu, Q, W0)` "
        "returning $(k_f, k_b)$, one value per reaction, for a stoichiometric matrix `nu` (species x "
        "reactions), `Q` per species and `W0` per reaction. With $c^\\circ = 1$ it is the formula of "
        "exercise `ex-rates`.",
        "def my_rate_constants(nu, Q, W0):\n    ### BEGIN SOLUTION\n"
        "    mu0 = Q + 1 - math.log(PARAMS['c0'])  # -dS/dc_m = ln c_m + mu0_m\n"
        "    exponent = (nu * mu0[:, None]).sum(0) / 2\n"
        "    return W0 / 4 * torch.exp(-exponent), W0 / 4 * torch.exp(exponent)\n    ### END SOLUTION",
        "nu = torch.tensor([[-1.0, 1.0], [-2.0, 0.0], [1.0, -1.0], [0.0, -1.0]], dtype=torch.float64)\n"
        "Q, W0 = torch.full((4,), -1.0, dtype=torch.float64), torch.full((2,), 4.0, dtype=torch.float64)\n"
        "kf, kb = my_rate_constants(nu, Q, W0)\n"
        "assert kf.shape == kb.shape == (2,), 'one rate constant per reaction'\n"
        "assert (kf > 0).all() and (kb > 0).all(), 'rate constants are positive'\n"
        "assert torch.allclose(kf * kb, torch.ones(2, dtype=torch.float64)), 'the prefactor of k_f and k_b'",
        ("my_rate_constants",),
        _rates_inputs,
        _rates_probe,
        (Check(1, _rates_product), Check(1, _rates_ratio), Check(1, _rates_each)),
        ("ggd_tutorial.systems.MassActionKinetics.rate_constants",),
        parameters={"c0": (1.0, (0.1, 0.5, 2.0, 10.0))},
    ),
    Question(
        "analytic-production",
        "Using only `system.conjugate` and `system.velocity`, write `analytic_production(system, c)`: "
        "the entropy production $\\mathbf c^*\\cdot\\dot{\\mathbf c}$ of a `g.MassActionKinetics` "
        "system at concentrations `c` of shape (n, species) (exercise `ex-production`).",
        "def analytic_production(system, c):\n    ### BEGIN SOLUTION\n"
        "    return (system.conjugate(c) * system.velocity(c)).sum(-1)\n    ### END SOLUTION",
        "system = g.MassActionKinetics.thesis_example()\n"
        "c = torch.tensor([[0.5, 0.5, 0.5, 0.5]], dtype=torch.float64)\n"
        "assert analytic_production(system, c).shape == (1,), 'one value per state'\n"
        "assert (analytic_production(system, c) >= 0).all(), 'the second law: never negative'",
        ("analytic_production",),
        _production_kinetics_inputs,
        _production_kinetics_probe,
        (
            Check(1, _production_kinetics_case(0, "the production of the thesis example at 30 states")),
            Check(1, _production_kinetics_case(1, "the production of a 3-species cycle at one state")),
        ),
        ("ggd_tutorial.metrics.true_entropy_rate",),
    ),
]


# ---------------------------------------------------------------------------------------------
# diffusion


def _log_mean_ref(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    u = torch.log(b / a)
    safe = torch.where(u == 0, torch.ones_like(u), u)
    return torch.where(u == 0, a, a * torch.expm1(u) / safe)


def _log_mean_inputs() -> dict:
    gen = _rng(10)
    a = torch.exp(torch.randn(100, generator=gen, dtype=torch.float64))
    b = torch.exp(torch.randn(100, generator=gen, dtype=torch.float64))
    c = torch.exp(torch.randn(40, generator=gen, dtype=torch.float64))
    near = c * (1 + torch.logspace(-12, -7, 20, dtype=torch.float64).repeat(2))
    return {"a": a, "b": b, "c": torch.cat([c, c]), "d": torch.cat([c, near])}


def _mobility_edge_ref(a: torch.Tensor, b: torch.Tensor, kappa: float) -> torch.Tensor:
    """M(a, b) = (b - a) / (s'(a) - s'(b)) for s(c) = -c ln c - kappa c^2 / 2: 1 / M = 1 / Lambda + kappa."""
    log_mean = _log_mean_ref(a, b)
    return log_mean / (1 + kappa * log_mean)


def _log_mean_probe(ns: dict, inp: dict) -> dict:
    fn = ns["edge_mobility"]
    return {"apart": call(fn, inp["a"], inp["b"]), "equal": call(fn, inp["c"], inp["d"])}


def _log_mean_apart(inp: dict, out: dict) -> None:
    got = _tensor(out["apart"], "edge_mobility(a, b)", inp["a"].shape)
    expected = _mobility_edge_ref(inp["a"], inp["b"], _param(inp, "kappa"))
    _close(got, expected, "M(a, b) for a != b", rtol=1e-9)


def _log_mean_equal(inp: dict, out: dict) -> None:
    got = _tensor(out["equal"], "edge_mobility(a, b)", inp["c"].shape)
    expected = _mobility_edge_ref(inp["c"], inp["d"], _param(inp, "kappa"))
    _close(got, expected, "M(a, b) at a == b and a close to b", rtol=1e-5)


def _decay_ref(k: int, D: float, h: float, theta: float = 0.0) -> float:
    """The decay rate of mode k under the stencil (c_{i+1} + c_{i-1} - 2 c_i + theta (c_{i+2} + c_{i-2} - 2 c_i))
    / ((1 + 4 theta) h^2)."""
    near, far = math.sin(math.pi * k * h) ** 2, math.sin(2 * math.pi * k * h) ** 2
    return 4 * D * (near + theta * far) / ((1 + 4 * theta) * h**2)


_LONG = [(k, D, 1 / n) for n in (64, 128) for k in (1, 2, 4, 8) for D in (3e-3, 0.1)]
_SHORT = [(k, D, 1 / n) for n in (32, 64) for k in (n // 4, n // 2 - 1, n // 2) for D in (3e-3, 0.1)]


def _decay_inputs() -> dict:
    return {"long": _LONG, "short": _SHORT}


def _decay_probe(ns: dict, inp: dict) -> dict:
    return {key: [call(ns["decay_rate"], *case) for case in inp[key]] for key in ("long", "short")}


def _decay_case(key: str, what: str) -> Callable[[dict, dict], None]:
    def test(inp: dict, out: dict) -> None:
        for case, result in zip(inp[key], out[key]):
            got = _number(result, "decay_rate(k, D, h)")
            if not math.isclose(got, _decay_ref(*case, _param(inp, "theta")), rel_tol=1e-9):
                raise Wrong(f"{what}: wrong rate at k = {case[0]}, D = {case[1]}, h = 1/{round(1 / case[2])}")

    return test


DIFFUSION = [
    Question(
        "edge-mobility",
        "Take the entropy density $s(c)=-c\\ln c-\\tfrac\\kappa2c^2$ with $\\kappa = <<kappa>>$ "
        "(`PARAMS['kappa']`). Write `edge_mobility(a, b)` for positive tensors: the mobility $M(a,b)$ "
        "of the edge between cells with concentrations $a$ and $b$ with which the GGD form of this entropy "
        "reproduces the three-point Laplacian exactly, $M(a,b)\\,\\big(s'(a)-s'(b)\\big)=b-a$, with its "
        "limit at $a=b$; it must be accurate where $a$ and $b$ are equal or nearly so. With $\\kappa=0$ it "
        "is the logarithmic mean of exercise `ex-logmean`.",
        "def edge_mobility(a, b):\n    ### BEGIN SOLUTION\n"
        "    u = torch.log(b) - torch.log(a)\n"
        "    near = u.abs() < 1e-6\n"
        "    # the logarithmic mean, with its expansion a (1 + u / 2) where b is close to a\n"
        "    lam = torch.where(near, a * (1 + u / 2), (b - a) / torch.where(near, torch.ones_like(u), u))\n"
        "    return lam / (1 + PARAMS['kappa'] * lam)  # 1 / M = 1 / Lambda + kappa\n    ### END SOLUTION",
        "a = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)\n"
        "b = torch.tensor([2.0, 1.0, 3.0], dtype=torch.float64)\n"
        "M = edge_mobility(a, b)\n"
        "assert M.shape == a.shape and torch.isfinite(M).all(), 'one finite mobility per edge, also where a == b'\n"
        "assert torch.allclose(M, edge_mobility(b, a)), 'the same mobility seen from either cell'\n"
        "assert (M > 0).all(), 'a mobility is positive'",
        ("edge_mobility",),
        _log_mean_inputs,
        _log_mean_probe,
        (Check(1, _log_mean_apart), Check(1, _log_mean_equal)),
        ("ggd_tutorial.systems._log_mean", "ggd_tutorial.systems.FickianDiffusion.edge_mobility"),
        parameters={"kappa": (0.0, (0.5, 1.0, 2.0, 4.0))},
    ),
    Question(
        "decay-rate",
        "Write `decay_rate(k, D, h)`: the rate $\\lambda_k$ at which the amplitude of the Fourier mode "
        "$e^{2\\pi i k x}$ decays, $\\propto e^{-\\lambda_k t}$, under $\\dot c = D\\,\\Delta_h c$ on the "
        "periodic unit interval with spacing $h$ and the five-point stencil "
        "$\\Delta_hc_i=\\big[c_{i+1}+c_{i-1}-2c_i+\\theta\\,(c_{i+2}+c_{i-2}-2c_i)\\big]/\\big((1+4\\theta)h^2\\big)$, "
        "$\\theta = <<theta>>$ (`PARAMS['theta']`). With $\\theta = 0$ it is the three-point Laplacian of "
        "exercise `ex-diffusivity`.",
        "def decay_rate(k, D, h):\n    ### BEGIN SOLUTION\n    theta = PARAMS['theta']\n"
        "    # the stencil on exp(2 pi i k x): 2 cos(2 pi k h) - 2 = -4 sin^2(pi k h), and so on for 2h\n"
        "    symbol = 4 * math.sin(math.pi * k * h) ** 2 + 4 * theta * math.sin(2 * math.pi * k * h) ** 2\n"
        "    return D * symbol / ((1 + 4 * theta) * h**2)\n    ### END SOLUTION",
        "assert abs(decay_rate(0, 0.1, 1 / 64)) < 1e-12, 'the mean does not decay'\n"
        "assert decay_rate(3, 0.1, 1 / 64) > 0, 'every other mode decays'\n"
        "assert math.isclose(decay_rate(1, 1.0, 1 / 4096), 4 * math.pi**2, rel_tol=1e-4), "
        "'long waves decay as in the continuum'",
        ("decay_rate",),
        _decay_inputs,
        _decay_probe,
        (Check(1, _decay_case("long", "long waves")), Check(1, _decay_case("short", "short waves"))),
        parameters={"theta": (0.0, (0.25, 0.5, 1.0, 2.0))},
    ),
]


# ---------------------------------------------------------------------------------------------
# structure

_NOISE = {"dt": [(s, 0.1) for s in (1e-3, 1e-2, 0.1)], "sigma": [(1e-2, dt) for dt in (0.01, 0.05, 0.5, 2.0)]}


def _noise_probe(ns: dict, inp: dict) -> dict:
    return {key: [call(ns["noise_mse"], *case) for case in inp[key]] for key in ("dt", "sigma")}


def _noise_case(key: str, what: str) -> Callable[[dict, dict], None]:
    def test(inp: dict, out: dict) -> None:
        for (sigma, dt), result in zip(inp[key], out[key]):
            got = _number(result, "noise_mse(sigma, dt)")
            stride = _param(inp, "stride")
            if not math.isclose(got, sigma**2 / (2 * stride**2 * dt**2), rel_tol=1e-9):
                raise Wrong(f"{what}: wrong at sigma = {sigma}, dt = {dt}")

    return test


STRUCTURE = [
    Question(
        "noise-mse",
        "Write `noise_mse(sigma, dt)`: the mean squared error that independent noise of standard "
        "deviation $\\sigma$ on every sample adds to the central difference over $s = <<stride>>$ "
        "steps (`PARAMS['stride']`), $(x_{t+s}-x_{t-s})/(2s\\Delta t)$ (exercise `ex-structure-noise` "
        "is the case $s = 1$).",
        "def noise_mse(sigma, dt):\n    ### BEGIN SOLUTION\n"
        "    return sigma**2 / (2 * PARAMS['stride'] ** 2 * dt**2)\n    ### END SOLUTION",
        "assert noise_mse(0.01, 0.1) > 0, 'noise adds error'\n"
        "assert math.isclose(noise_mse(0.02, 0.1), 4 * noise_mse(0.01, 0.1)), 'an MSE grows as the variance'",
        ("noise_mse",),
        lambda: dict(_NOISE),
        _noise_probe,
        (Check(1, _noise_case("dt", "at dt = 0.1")), Check(1, _noise_case("sigma", "at other dt"))),
        parameters={"stride": (1, (2, 3, 4))},
    ),
]


# ---------------------------------------------------------------------------------------------
# own_system


def _projection_probe(ns: dict, inp: dict) -> dict:
    return {"P": encode(ns["P"])}


def _projection_matrix(inp: dict, out: dict) -> tuple[torch.Tensor, int]:
    P = _tensor(out["P"], "P")
    n = int(_param(inp, "bodies"))
    if P.ndim != 2 or P.shape[0] != n or not torch.isfinite(P).all():
        raise Wrong(f"P must be a finite matrix with one row per body ({n} x r), got shape {tuple(P.shape)}")
    return P, n


def _projection_conserves(inp: dict, out: dict) -> None:
    P, n = _projection_matrix(inp, out)
    if (torch.ones(1, n, dtype=torch.float64) @ P).abs().max() > 1e-12 * max(1.0, float(P.abs().max())):
        raise Wrong("a column of P changes the total energy")


def _projection_spans(inp: dict, out: dict) -> None:
    P, n = _projection_matrix(inp, out)
    ones = torch.ones(1, n, dtype=torch.float64)
    admissible = P - ones.T @ (ones @ P) / n  # the part of P that conserves the total
    if int(torch.linalg.matrix_rank(admissible)) < n - 1:
        raise Wrong("P does not span every direction that conserves the total energy")


def _heat_truth(U: torch.Tensor) -> torch.Tensor:
    from ggd_tutorial.book import experiments as ex

    U = U.clone().requires_grad_(True)
    with torch.enable_grad():
        (dS,) = torch.autograd.grad(ex.heat_exchange_entropy(U).sum(), U)
    return (dS * ex.heat_exchange(U.detach())).sum(-1)


def _heat_inputs() -> dict:
    C = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    T = torch.rand(8, 1, generator=_rng(11), dtype=torch.float64) + 0.5
    return {"equal": T * C, "U": torch.rand(30, 3, generator=_rng(12), dtype=torch.float64) + 0.5}


def _heat_probe(ns: dict, inp: dict) -> dict:
    return {k: call(ns["heat_production"], inp[k]) for k in ("equal", "U")}


def _heat_second_law(inp: dict, out: dict) -> None:
    equal = _tensor(out["equal"], "heat_production(U)", (inp["equal"].shape[0],))
    if not torch.isfinite(equal).all() or equal.abs().max() > 1e-12:
        raise Wrong("not zero when all bodies have the same temperature")
    got = _tensor(out["U"], "heat_production(U)", (inp["U"].shape[0],))
    if not torch.isfinite(got).all() or (got < -1e-12).any():
        raise Wrong("negative somewhere: the second law fails")


def _heat_values(inp: dict, out: dict) -> None:
    got = _tensor(out["U"], "heat_production(U)", (inp["U"].shape[0],))
    _close(got, _heat_truth(inp["U"]), "dS/dt at 30 random states")


OWN_SYSTEM = [
    Question(
        "conserving-projection",
        "Take $n = <<bodies>>$ bodies (`PARAMS['bodies']`; the chapter has three) that exchange heat and "
        "nothing else. Build a matrix `P` of shape $n\\times r$ with which "
        "`g.GradientDynamicsModel(n, dissipation_projection=P)` conserves the total energy $\\sum_iU_i$ "
        "whatever its weights, and can still move along every direction that conserves it "
        "(exercise `ex-heat-conservation` is the case $n = 3$).",
        "### BEGIN SOLUTION\nn = PARAMS['bodies']\n"
        "P = torch.zeros(n, n - 1, dtype=torch.float64)\n"
        "for i in range(n - 1):  # column i moves energy from body i + 1 to body i\n"
        "    P[i, i], P[i + 1, i] = 1.0, -1.0\n"
        "### END SOLUTION",
        _check("g.book.exercises.check_conserving_projection(P, torch.ones(1, PARAMS['bodies']))"),
        ("P",),
        dict,
        _projection_probe,
        (Check(1, _projection_conserves), Check(1, _projection_spans)),
        parameters={"bodies": (3, (4, 5, 6))},
    ),
    Question(
        "heat-production",
        "For the three bodies of this chapter ($S=\\sum_i C_i\\ln(U_i/C_i)$, `ex.heat_exchange`) "
        "write `heat_production(U)`: $\\dot S=\\sum_{i<j}k_{ij}(T_iT_j)^{3/2}(1/T_i-1/T_j)^2$ with "
        "$T_i=U_i/C_i$, `C = ex.HEAT_CAPACITY` and `k = ex.CONDUCTANCE` "
        "(exercise `ex-heat-ggd`).",
        "def heat_production(U):\n    ### BEGIN SOLUTION\n"
        "    T = U / torch.tensor(ex.HEAT_CAPACITY, dtype=U.dtype)\n"
        "    total = torch.zeros(U.shape[0], dtype=U.dtype)\n"
        "    for (i, j), k in ex.CONDUCTANCE.items():\n"
        "        total = total + k * (T[:, i] * T[:, j]) ** 1.5 * (1 / T[:, i] - 1 / T[:, j]) ** 2\n"
        "    return total\n    ### END SOLUTION",
        "U = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)  # all at T = 1: equilibrium\n"
        "assert torch.allclose(heat_production(U), torch.zeros(1, dtype=torch.float64))",
        ("heat_production",),
        _heat_inputs,
        _heat_probe,
        (Check(1, _heat_second_law), Check(1, _heat_values)),
        ("ggd_tutorial.metrics.true_entropy_rate",),
    ),
]


# ---------------------------------------------------------------------------------------------
# generic


def _antisymmetric(n: int, d: int, seed: int) -> torch.Tensor:
    a = torch.randn(n, d, d, generator=_rng(seed), dtype=torch.float64)
    return a - a.transpose(1, 2)


def _projection_ref(A: torch.Tensor, s: torch.Tensor, delta: float) -> torch.Tensor:
    n2 = (s * s).sum(-1)[:, None, None]
    P = torch.eye(s.shape[-1], dtype=s.dtype) - s[:, :, None] * s[:, None, :] / n2
    return n2 / (n2 + delta**2) * (P @ A @ P)


def _poisson_inputs() -> dict:
    scales = torch.logspace(-3, 3, 30, dtype=torch.float64)[:, None]
    return {
        "unit": (_antisymmetric(40, 4, 20), torch.randn(40, 4, generator=_rng(21), dtype=torch.float64)),
        "scales": (_antisymmetric(30, 3, 22), scales * torch.randn(30, 3, generator=_rng(23), dtype=torch.float64)),
    }


def _poisson_probe(ns: dict, inp: dict) -> dict:
    return {k: call(ns["project_poisson"], *inp[k]) for k in ("unit", "scales")}


def _poisson_got(inp: dict, out: dict, key: str) -> torch.Tensor:
    A, s = inp[key]
    L = _tensor(out[key], "project_poisson(A, s)", A.shape)
    if not torch.isfinite(L).all():
        raise Wrong(f"project_poisson(A, s): not finite at {int((~torch.isfinite(L)).sum())} of {L.numel()} values")
    return L


def _poisson_degenerate(inp: dict, out: dict) -> None:
    for key in ("unit", "scales"):
        A, s = inp[key]
        L = _poisson_got(inp, out, key)
        scale = float(A.abs().max())
        if (L + L.transpose(1, 2)).abs().max() > 1e-12 * scale:
            raise Wrong("L is not antisymmetric")
        unit = s / s.norm(dim=-1, keepdim=True)
        if (L @ unit[..., None]).abs().max() > 1e-12 * scale:
            raise Wrong("L dS/dx is not zero: the reversible part would produce entropy")


def _poisson_values(key: str, what: str) -> Callable[[dict, dict], None]:
    def test(inp: dict, out: dict) -> None:
        A, s = inp[key]
        L = _poisson_got(inp, out, key)
        _close(L, _projection_ref(A, s, _param(inp, "delta")), what, rtol=1e-9, atol=1e-12 * float(A.abs().max()))

    return test


def _H(x: torch.Tensor, k: float) -> torch.Tensor:
    return 0.5 * (x**2).sum(-1) + k / 4 * x[:, 0] ** 4


def _grad_H(x: torch.Tensor, k: float) -> torch.Tensor:
    return torch.stack([x[:, 0] + k * x[:, 0] ** 3, x[:, 1]], -1)


def _J(v: torch.Tensor) -> torch.Tensor:
    return torch.stack([v[:, 1], -v[:, 0]], -1)


def _dg_H(x: torch.Tensor, y: torch.Tensor, k: float) -> torch.Tensor:
    """Gonzalez's discrete gradient of H, with its correction in closed form: for the quartic term,
    H(y) - H(x) - grad H(m) . (y - x) = k m_q (y_q - x_q)^3 / 4, and zero for the quadratic ones."""
    m, d = (x + y) / 2, y - x
    d2 = (d * d).sum(-1, keepdim=True)
    defect = k / 4 * m[:, :1] * d[:, :1] ** 3
    return _grad_H(m, k) + torch.where(d2 > 0, defect / torch.where(d2 > 0, d2, torch.ones_like(d2)), 0 * d2) * d


def _dg_ref(x: torch.Tensor, dt: float, k: float) -> torch.Tensor:
    y = x + dt * _J(_grad_H(x, k))
    for _ in range(500):
        new = x + dt * _J(_dg_H(x, y, k))
        done = (new - y).abs().max() <= 1e-15 * (1 + float(x.abs().max()))
        y = new
        if done:
            break
    return y


_DG_ORBIT = 100


def _dg_inputs() -> dict:
    return {
        "batch": 2 * torch.rand(50, 2, generator=_rng(24), dtype=torch.float64) - 1,
        "dt": 0.05,
        "orbit": torch.tensor([[0.8, 0.3]], dtype=torch.float64),
        "rest": torch.zeros(1, 2, dtype=torch.float64),
        "tiny": 2 * torch.rand(5, 2, generator=_rng(25), dtype=torch.float64) - 1,
    }


def _dg_probe(ns: dict, inp: dict) -> dict:
    step, dt = ns["dg_step"], inp["dt"]

    def orbit(x: torch.Tensor) -> torch.Tensor:
        states = [x]
        for _ in range(_DG_ORBIT):
            states.append(step(states[-1], dt))
        return torch.cat(states)

    return {
        "batch": call(step, inp["batch"], dt),
        "orbit": call(orbit, inp["orbit"]),
        "rest": call(step, inp["rest"], dt),
        "tiny": call(step, inp["tiny"], 1e-9),
    }


def _dg_batch(inp: dict, out: dict) -> torch.Tensor:
    x1 = _tensor(out["batch"], "dg_step(x, dt)", inp["batch"].shape)
    if not torch.isfinite(x1).all():
        raise Wrong("dg_step(x, dt) is not finite")
    return x1


def _dg_energy(inp: dict, out: dict) -> None:
    k, dt, x0 = _param(inp, "k"), inp["dt"], inp["batch"]
    x1 = _dg_batch(inp, out)
    flow = dt * _J(_grad_H(x0, k))
    if ((x1 - x0 - flow).norm(dim=-1) > 0.5 * flow.norm(dim=-1) + 1e-14).any():
        raise Wrong("one step does not follow the flow of H")
    change = (_H(x1, k) - _H(x0, k)).abs().max()
    if change > 1e-12:
        raise Wrong(f"H changes by up to {float(change):.1e} in one step: not conserved to round-off")
    orbit = _tensor(out["orbit"], f"{_DG_ORBIT} steps of dg_step", (_DG_ORBIT + 1, 2))
    drift = (_H(orbit, k) - _H(orbit[:1], k)).abs().max()
    if not torch.isfinite(drift) or drift > 1e-11:
        raise Wrong(f"H drifts by {float(drift):.1e} over {_DG_ORBIT} steps: not conserved to round-off")


def _dg_scheme(inp: dict, out: dict) -> None:
    k, dt, x0 = _param(inp, "k"), inp["dt"], inp["batch"]
    x1 = _dg_batch(inp, out)
    residual = (x1 - x0 - dt * _J(_dg_H(x0, x1, k))).abs().max()
    if residual > 1e-12:
        raise Wrong(f"the step does not solve the implicit equation of the scheme (residual {float(residual):.1e})")


def _dg_degenerate(inp: dict, out: dict) -> None:
    rest = _tensor(out["rest"], "dg_step(x, dt) at the rest state (0, 0)", (1, 2))
    if not torch.isfinite(rest).all() or rest.abs().max() > 1e-15:
        raise Wrong("a step from the rest state (0, 0) must stay there (finite)")
    tiny = _tensor(out["tiny"], "dg_step(x, 1e-9)", inp["tiny"].shape)
    _close(tiny, _dg_ref(inp["tiny"], 1e-9, _param(inp, "k")), "steps of dt = 1e-9", rtol=1e-12, atol=1e-15)


_C1, _LENGTH = 1.5, 2.0


def _piston_conjugate(x: torch.Tensor, c2: float) -> torch.Tensor:
    q, e1, e2 = x[:, 0], x[:, 2], x[:, 3]
    return torch.stack([1 / q - 1 / (_LENGTH - q), torch.zeros_like(q), _C1 / e1, c2 / e2], -1)


def _piston_mechanics(x: torch.Tensor, c2: float) -> torch.Tensor:
    q, p, e1, e2 = x.unbind(-1)
    P1, P2 = e1 / (_C1 * q), e2 / (c2 * (_LENGTH - q))
    return torch.stack([p, P1 - P2, -P1 * p, P2 * p], -1)


def _piston_states(n: int, seed: int) -> torch.Tensor:
    u = torch.rand(n, 4, generator=_rng(seed), dtype=torch.float64)
    return torch.stack([0.4 + 1.2 * u[:, 0], 2 * u[:, 1] - 1, 0.5 + 1.5 * u[:, 2], 0.5 + 1.5 * u[:, 3]], -1)


_PISTON_H = 1e-5


def _piston_inputs() -> dict:
    return {"x": _piston_states(40, 26), "jacobi": _piston_states(5, 27)}


def _piston_probe(ns: dict, inp: dict) -> dict:
    fn, x = ns["piston_poisson"], inp["jacobi"]
    out = {"x": call(fn, inp["x"]), "at": call(fn, x)}
    for k in range(4):
        step = torch.zeros_like(x)
        step[:, k] = _PISTON_H
        out[f"+{k}"], out[f"-{k}"] = call(fn, x + step), call(fn, x - step)
    return out


def _piston_got(out: dict, key: str, n: int) -> torch.Tensor:
    L = _tensor(out[key], "piston_poisson(x)", (n, 4, 4))
    if not torch.isfinite(L).all():
        raise Wrong("piston_poisson(x) is not finite")
    return L


def _piston_degenerate(inp: dict, out: dict) -> None:
    x = inp["x"]
    L = _piston_got(out, "x", x.shape[0])
    scale = float(L.abs().max())
    if (L + L.transpose(1, 2)).abs().max() > 1e-12 * scale:
        raise Wrong("L is not antisymmetric")
    dS = _piston_conjugate(x, _param(inp, "c2"))
    if (L @ dS[..., None]).abs().max() > 1e-12 * scale * float(dS.abs().max()):
        raise Wrong("L dS/dx is not zero for the entropy of your two gases")


def _piston_energy(inp: dict, out: dict) -> None:
    x = inp["x"]
    L = _piston_got(out, "x", x.shape[0])
    dE = torch.stack([torch.zeros_like(x[:, 0]), x[:, 1], torch.ones_like(x[:, 0]), torch.ones_like(x[:, 0])], -1)
    got = (L @ dE[..., None])[..., 0]
    _close(got, _piston_mechanics(x, _param(inp, "c2")), "L dE/dx: not the piston's mechanics", rtol=1e-9)


def _piston_jacobi(inp: dict, out: dict) -> None:
    n = inp["jacobi"].shape[0]
    L = _piston_got(out, "at", n)
    dL = torch.stack(
        [(_piston_got(out, f"+{k}", n) - _piston_got(out, f"-{k}", n)) / (2 * _PISTON_H) for k in range(4)], -1
    )  # dL[b, j, k, l] = d_l L_jk
    term = torch.einsum("bil,bjkl->bijk", L, dL)
    jacobiator = term + term.permute(0, 2, 3, 1) + term.permute(0, 3, 1, 2)
    scale = float(L.abs().max()) * float(dL.abs().max()) + 1.0
    if jacobiator.abs().max() > 1e-6 * scale:
        raise Wrong(f"the Jacobi identity fails (largest term {float(jacobiator.abs().max()):.1e})")


GENERIC = [
    Question(
        "poisson-projection",
        "Write `project_poisson(A, s)` for a batch of antisymmetric matrices `A` of shape (n, d, d) and "
        "vectors `s` of shape (n, d) standing for $\\partial_{\\mathbf x}S$: it returns the matrices "
        "$L=\\rho\\,P_SAP_S$, with $P_S=I-\\mathbf s\\mathbf s^\\top/|\\mathbf s|^2$ and the floor factor "
        "$\\rho=|\\mathbf s|^2/(|\\mathbf s|^2+\\delta^2)$, $\\delta=<<delta>>$ (`PARAMS['delta']`; with "
        "$\\delta=0$ it is the projection of the chapter). $|\\mathbf s|$ ranges from $10^{-3}$ to $10^3$.",
        "def project_poisson(A, s):\n    ### BEGIN SOLUTION\n"
        "    n2 = (s * s).sum(-1)[:, None, None]\n"
        "    P = torch.eye(s.shape[-1], dtype=s.dtype) - s[:, :, None] * s[:, None, :] / n2\n"
        "    return n2 / (n2 + PARAMS['delta'] ** 2) * (P @ A @ P)\n    ### END SOLUTION",
        "A = torch.tensor([[[0.0, 1.0, 2.0], [-1.0, 0.0, 3.0], [-2.0, -3.0, 0.0]]], dtype=torch.float64)\n"
        "s = torch.tensor([[1.0, 2.0, 2.0]], dtype=torch.float64)\nL = project_poisson(A, s)\n"
        "assert L.shape == (1, 3, 3), 'one matrix per state'\n"
        "assert torch.allclose(L, -L.transpose(1, 2)), 'L is antisymmetric'\n"
        "assert torch.allclose(L @ s[..., None], torch.zeros(1, 3, 1, dtype=torch.float64)), 'L dS/dx = 0'",
        ("project_poisson",),
        _poisson_inputs,
        _poisson_probe,
        (
            Check(1, _poisson_degenerate),
            Check(1, _poisson_values("unit", "L at 40 states in 4-D")),
            Check(1, _poisson_values("scales", "L for |s| from 1e-3 to 1e3")),
        ),
        ("ggd_tutorial.generic._projected_antisymmetric", "ggd_tutorial.generic._projector_apply"),
        parameters={"delta": (0.0, (0.1, 0.3, 1.0, 3.0))},
    ),
    Question(
        "discrete-gradient-step",
        "For the Hamiltonian $H(q,p)=\\tfrac12p^2+\\tfrac12q^2+\\tfrac k4q^4$ with $k=<<k>>$ "
        "(`PARAMS['k']`), write `dg_step(x, dt)`: one step of the discrete-gradient scheme "
        "$\\mathbf x_{n+1}=\\mathbf x_n+\\Delta t\\,J\\,\\bar\\nabla H(\\mathbf x_n,\\mathbf x_{n+1})$ with "
        "$J=\\begin{pmatrix}0&1\\\\-1&0\\end{pmatrix}$ and Gonzalez's discrete gradient "
        "$\\bar\\nabla H(\\mathbf x,\\mathbf y)=\\nabla H(\\mathbf m)+\\frac{H(\\mathbf y)-H(\\mathbf x)-"
        "\\nabla H(\\mathbf m)\\cdot\\boldsymbol\\delta}{|\\boldsymbol\\delta|^2}\\,\\boldsymbol\\delta$ "
        "($\\mathbf m$ the midpoint, $\\boldsymbol\\delta=\\mathbf y-\\mathbf x$), for a batch `x` of shape "
        "(n, 2). Solve the implicit equation to round-off (below $10^{-12}$), with your own iteration; it must also work at "
        "the rest state and for tiny steps. Graded: $H$ conserved to round-off over many steps, the scheme "
        "itself, and those special cases.",
        "def dg_step(x, dt):\n    ### BEGIN SOLUTION\n    k = PARAMS['k']\n\n"
        "    def H(z):\n        return 0.5 * (z**2).sum(-1) + k / 4 * z[:, 0] ** 4\n\n"
        "    def grad_H(z):\n        return torch.stack([z[:, 0] + k * z[:, 0] ** 3, z[:, 1]], -1)\n\n"
        "    def J(v):\n        return torch.stack([v[:, 1], -v[:, 0]], -1)\n\n"
        "    y = x + dt * J(grad_H(x))  # explicit Euler as the first guess\n"
        "    for _ in range(500):\n"
        "        m, d = (x + y) / 2, y - x\n"
        "        d2 = (d * d).sum(-1, keepdim=True)\n"
        "        moved = d2 > 0\n"
        "        defect = (H(y) - H(x))[:, None] - (grad_H(m) * d).sum(-1, keepdim=True)\n"
        "        correction = torch.where(moved, defect / torch.where(moved, d2, torch.ones_like(d2)), 0 * d2)\n"
        "        new = x + dt * J(grad_H(m) + correction * d)\n"
        "        done = (new - y).abs().max() <= 1e-15 * (1 + x.abs().max())\n"
        "        y = new\n"
        "        if done:\n            break\n"
        "    return y\n    ### END SOLUTION",
        "x = torch.tensor([[0.5, 0.2], [0.0, 0.0]], dtype=torch.float64)\ny = dg_step(x, 0.05)\n"
        "assert y.shape == x.shape, 'one new state per state'\n"
        "assert torch.isfinite(y).all(), 'finite, also at the rest state'\n"
        "H = lambda z: 0.5 * (z**2).sum(-1) + PARAMS['k'] / 4 * z[:, 0] ** 4\n"
        "assert (H(y) - H(x)).abs().max() < 1e-12, 'H is conserved to round-off'",
        ("dg_step",),
        _dg_inputs,
        _dg_probe,
        (Check(1, _dg_energy), Check(1, _dg_scheme), Check(1, _dg_degenerate)),
        ("ggd_tutorial.discrete_gradient.discrete_gradient_step", "ggd_tutorial.discrete_gradient.discrete_gradient"),
        parameters={"k": (1.0, (0.5, 2.0, 3.0))},
    ),
    Question(
        "piston-poisson",
        "The piston of this chapter with two *different* gases: gas $i$ has the entropy "
        "$S_i=c_i\\ln e_i+\\ln V_i$ with $c_1=1.5$ and $c_2=<<c2>>$ (`PARAMS['c2']`), $V_1=q$, "
        "$V_2=\\ell-q$, $\\ell=2$, and $E=p^2/2+e_1+e_2$. Write `piston_poisson(x)` for states "
        "$\\mathbf x=(q,p,e_1,e_2)$ of shape (n, 4), returning matrices $L$ of shape (n, 4, 4) that are "
        "antisymmetric, satisfy $L\\,\\partial_{\\mathbf x}S=0$ and the Jacobi identity, and give the "
        "piston's mechanics as $L\\,\\partial_{\\mathbf x}E$: $\\dot q=p$, $\\dot p=P_1-P_2$ with the "
        "pressures of your gases, and the work $\\dot e_1=-P_1\\dot q$, $\\dot e_2=P_2\\dot q$.",
        "def piston_poisson(x):\n    ### BEGIN SOLUTION\n    q, e1, e2 = x[:, 0], x[:, 2], x[:, 3]\n"
        "    P1 = e1 / (1.5 * q)  # P_i = T_i dS_i/dV_i with T_i = e_i / c_i\n"
        "    P2 = e2 / (PARAMS['c2'] * (2.0 - q))\n"
        "    L = torch.zeros(x.shape[0], 4, 4, dtype=x.dtype)\n"
        "    L[:, 0, 1], L[:, 1, 0] = 1.0, -1.0\n"
        "    L[:, 1, 2], L[:, 2, 1] = P1, -P1\n"
        "    L[:, 1, 3], L[:, 3, 1] = -P2, P2\n"
        "    return L\n    ### END SOLUTION",
        "x = torch.tensor([[0.8, 0.3, 1.2, 0.9]], dtype=torch.float64)\nL = piston_poisson(x)\n"
        "assert L.shape == (1, 4, 4), 'one matrix per state'\n"
        "assert torch.allclose(L, -L.transpose(1, 2)), 'L is antisymmetric'\n"
        "assert torch.isclose(L[0, 0, 1] * x[0, 1], x[0, 1]), 'dq/dt = p'",
        ("piston_poisson",),
        _piston_inputs,
        _piston_probe,
        (Check(1, _piston_degenerate), Check(1, _piston_energy), Check(1, _piston_jacobi)),
        ("ggd_tutorial.systems.GasPiston.poisson", "ggd_tutorial.systems.GasPiston.pressures"),
        parameters={"c2": (1.5, (1.0, 2.0, 2.5, 3.0))},
    ),
]


# ---------------------------------------------------------------------------------------------
# kinetics_priors


def _log_rates(c: torch.Tensor, kb: float) -> tuple[torch.Tensor, torch.Tensor]:
    """ln r_f and ln r_b of A + 2B <-> C (k_f = 1, k_b = kb) and C + D <-> A (k_f = k_b = 1), (n, 2) each."""
    lc = torch.log(c)
    forward = torch.stack([lc[:, 0] + 2 * lc[:, 1], lc[:, 2] + lc[:, 3]], -1)
    backward = torch.stack([math.log(kb) + lc[:, 2], lc[:, 0]], -1)
    return forward, backward


def _mobility_ref(c: torch.Tensor, kb: float) -> torch.Tensor:
    lf, lb = _log_rates(c, kb)
    u = (lf - lb) / 2
    small = u.abs() < 1e-4
    ratio = torch.where(small, 1 + u**2 / 6 + u**4 / 120, torch.sinh(u) / torch.where(small, torch.ones_like(u), u))
    return torch.exp((lf + lb) / 2) * ratio


_KB = (1.0, (0.5, 2.0, 4.0, 8.0))


def _balanced(kb: float, seed: int) -> torch.Tensor:
    """States at which both reactions are balanced (20), then 20 within 1e-12 to 1e-6 of that."""
    gen = _rng(seed)
    A = 0.2 + 1.8 * torch.rand(20, generator=gen, dtype=torch.float64)
    B = 0.5 + torch.rand(20, generator=gen, dtype=torch.float64)
    C = A * B**2 / kb
    exact = torch.stack([A, B, C, A / C], -1)
    near = exact.clone()
    near[:, 2] *= 1 + torch.logspace(-12, -6, 20, dtype=torch.float64)
    return torch.cat([exact, near])


def _slow(kb: float, seed: int) -> torch.Tensor:
    """States with small rates (c_A and c_C from 1e-8 to 1e-4): 20 random, 20 within 1e-3 to 1e-1 of balance."""
    gen = _rng(seed)
    A = torch.exp(math.log(1e-8) + math.log(1e4) * torch.rand(40, generator=gen, dtype=torch.float64))
    B = 0.5 + torch.rand(40, generator=gen, dtype=torch.float64)
    off = torch.logspace(-3, -1, 20, dtype=torch.float64) * torch.tensor([1.0, -1.0], dtype=torch.float64).repeat(10)
    C = A * B**2 / kb * torch.cat([torch.exp(4 * torch.randn(20, generator=gen, dtype=torch.float64)), 1 + off])
    D = kb / B**2 * torch.cat([torch.exp(torch.randn(20, generator=gen, dtype=torch.float64)), 1 - off])
    return torch.stack([A, B, C, D], -1)


def _mobility_inputs() -> dict:
    gen = _rng(28)
    values = (_KB[0], *_KB[1])
    return {
        "away": torch.exp(math.log(0.05) + math.log(40) * torch.rand(60, 4, generator=gen, dtype=torch.float64)),
        "balanced": {f"{kb:g}": _balanced(kb, 29 + i) for i, kb in enumerate(values)},
        "small": {f"{kb:g}": _slow(kb, 39 + i) for i, kb in enumerate(values)},
    }


def _mobility_probe(ns: dict, inp: dict) -> dict:
    fn = ns["mobility"]
    return {
        "away": call(fn, inp["away"]),
        "balanced": {kb: call(fn, c) for kb, c in inp["balanced"].items()},
        "small": {kb: call(fn, c) for kb, c in inp["small"].items()},
    }


def _mobility_case(key: str, what: str, rtol: float) -> Callable[[dict, dict], None]:
    def test(inp: dict, out: dict) -> None:
        kb = _param(inp, "kb")
        c = inp[key][f"{kb:g}"] if isinstance(inp[key], dict) else inp[key]
        result = out[key].get(f"{kb:g}") if isinstance(inp[key], dict) else out[key]
        got = _tensor(result, "mobility(c)", (c.shape[0], 2))
        _close(got, _mobility_ref(c, kb), what, rtol=rtol, atol=0.0)

    return test


_B_MIX = 0.5


def _mixing_ref(total: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """The maximum of S on c_A + c_B = N: c_A = exp(b) c_B^a, by bisection on u = ln c_B."""
    log_n = torch.log(total)
    lo = torch.minimum(log_n - 1, (log_n - b - 1) / a)
    hi = log_n.clone()
    for _ in range(200):
        mid = (lo + hi) / 2
        above = torch.logaddexp(mid, b + a * mid) > log_n
        hi, lo = torch.where(above, mid, hi), torch.where(above, lo, mid)
    u = (lo + hi) / 2
    return torch.stack([torch.exp(b + a * u), torch.exp(u)], -1)


def _mixing_inputs() -> dict:
    return {
        "moderate": torch.linspace(0.1, 10, 40, dtype=torch.float64),
        "extreme": torch.logspace(-8, 8, 33, dtype=torch.float64),
    }


def _mixing_probe(ns: dict, inp: dict) -> dict:
    return {k: call(ns["mixing_equilibrium"], inp[k]) for k in ("moderate", "extreme")}


def _mixing_got(inp: dict, out: dict, key: str) -> torch.Tensor:
    c = _tensor(out[key], "mixing_equilibrium(total)", (inp[key].shape[0], 2))
    if not torch.isfinite(c).all() or (c <= 0).any():
        raise Wrong("mixing_equilibrium(total): every concentration must be finite and positive")
    return c


def _mixing_conserves(inp: dict, out: dict) -> None:
    for key in ("moderate", "extreme"):
        c = _mixing_got(inp, out, key)
        _close(c.sum(-1), inp[key], "c_A + c_B: the reaction conserves it", rtol=1e-10, atol=0.0)


def _mixing_balance(inp: dict, out: dict) -> None:
    c = _mixing_got(inp, out, "moderate")
    a = _param(inp, "aB")
    gap = (torch.log(c[:, 0]) - a * torch.log(c[:, 1]) - _B_MIX).abs()
    if gap.max() > 1e-9:
        raise Wrong(f"the affinity of A <-> B is not zero at {int((gap > 1e-9).sum())} of {len(gap)} totals")


def _mixing_extreme(inp: dict, out: dict) -> None:
    c = _mixing_got(inp, out, "extreme")
    expected = _mixing_ref(inp["extreme"], _param(inp, "aB"), _B_MIX)
    _close(c, expected, "the equilibrium for totals from 1e-8 to 1e8", rtol=1e-9, atol=0.0)


KINETICS_PRIORS = [
    Question(
        "log-mean-mobility",
        "Take the reactions of this chapter, $A+2B\\rightleftharpoons C$ and $C+D\\rightleftharpoons A$, "
        "with the mass-action rate constants $k_{f,1}=k_{f,2}=k_{b,2}=1$ and $k_{b,1}=<<kb>>$ "
        "(`PARAMS['kb']`). Write `mobility(c)` for concentrations of shape (n, 4) (species A, B, C, D): "
        "the mobility $L_n=J_n/X_n$ of each reaction, shape (n, 2), with $J_n=r_{f,n}-r_{b,n}$ its net "
        "forward rate and $X_n=\\ln(r_{f,n}/r_{b,n})$ its affinity: the function that the mobility prior "
        "of this chapter learns. It must be accurate (relative $10^{-8}$) at and near equilibrium, where "
        "$J_n=X_n=0$, and where the rates are small (concentrations down to $10^{-8}$).",
        "def mobility(c):\n    ### BEGIN SOLUTION\n    A, B, C, D = torch.log(c).unbind(-1)\n"
        "    log_f = torch.stack([A + 2 * B, C + D], -1)\n"
        "    log_b = torch.stack([math.log(PARAMS['kb']) + C, A], -1)\n"
        "    u = (log_f - log_b) / 2  # L = sqrt(r_f r_b) sinh(u) / u\n"
        "    small = u.abs() < 1e-4\n"
        "    ratio = torch.where(small, 1 + u**2 / 6, torch.sinh(u) / torch.where(small, torch.ones_like(u), u))\n"
        "    return torch.exp((log_f + log_b) / 2) * ratio\n    ### END SOLUTION",
        "c = torch.tensor([[0.5, 0.8, 0.3, 1.2], [1e-5, 2e-6, 3e-6, 1e-6]], dtype=torch.float64)\nL = mobility(c)\n"
        "assert L.shape == (2, 2), 'one mobility per state and reaction'\n"
        "assert torch.isfinite(L).all() and (L > 0).all(), 'a mobility is finite and positive'",
        ("mobility",),
        _mobility_inputs,
        _mobility_probe,
        (
            Check(1, _mobility_case("away", "L at 60 states away from equilibrium", 1e-8)),
            Check(1, _mobility_case("balanced", "L at and near equilibrium", 1e-8)),
            Check(1, _mobility_case("small", "L where the rates are small (c_A, c_C from 1e-8 to 1e-4)", 1e-8)),
        ),
        ("ggd_tutorial.systems.MassActionKinetics.mobility", "ggd_tutorial.systems._log_mean"),
        parameters={"kb": _KB},
    ),
    Question(
        "mixing-equilibrium",
        "A model with the mixing prior, learned for the single reaction $A\\rightleftharpoons B$, has the "
        "entropy $S(\\mathbf c)=\\sum_i a_i(c_i-c_i\\ln c_i)-\\sum_i b_ic_i$ with $a_A=1$, $a_B=<<aB>>$ "
        "(`PARAMS['aB']`), $b_A=0$ and $b_B=0.5$. It relaxes to the maximum of $S$ on the line "
        "$c_A+c_B=N$. Write `mixing_equilibrium(total)`: for a tensor of totals $N$ of shape (n,), "
        "from $10^{-8}$ to $10^{8}$, that equilibrium $(c_A,c_B)$, shape (n, 2), to a relative $10^{-9}$.",
        "def mixing_equilibrium(total):\n    ### BEGIN SOLUTION\n    a, b = PARAMS['aB'], 0.5\n"
        "    # equal conjugates: ln c_A = a ln c_B + b; bisection on u = ln c_B, c_A + c_B growing in u\n"
        "    log_n = torch.log(total)\n"
        "    lo, hi = torch.minimum(log_n - 1, (log_n - b - 1) / a), log_n.clone()\n"
        "    for _ in range(200):\n        mid = (lo + hi) / 2\n"
        "        above = torch.logaddexp(mid, b + a * mid) > log_n\n"
        "        hi, lo = torch.where(above, mid, hi), torch.where(above, lo, mid)\n"
        "    u = (lo + hi) / 2\n"
        "    return torch.stack([torch.exp(b + a * u), torch.exp(u)], -1)\n    ### END SOLUTION",
        "total = torch.tensor([1.0, 2.0], dtype=torch.float64)\nc = mixing_equilibrium(total)\n"
        "assert c.shape == (2, 2), 'one state (c_A, c_B) per total'\n"
        "assert (c > 0).all(), 'concentrations are positive'\n"
        "assert torch.allclose(c.sum(-1), total), 'the reaction conserves c_A + c_B'",
        ("mixing_equilibrium",),
        _mixing_inputs,
        _mixing_probe,
        (Check(1, _mixing_conserves), Check(1, _mixing_balance), Check(1, _mixing_extreme)),
        ("ggd_tutorial.equilibria.relax",),
        parameters={"aB": (1.0, (0.5, 1.5, 2.0, 3.0))},
    ),
]


@dataclass(frozen=True)
class Manual:
    """A derivation or open-ended question graded by hand: a Markdown answer cell worth ``points``,
    with a ``rubric`` ((points, criterion) pairs) and a ``model`` answer for the instructor only."""

    name: str
    prompt: str
    model: str
    rubric: tuple[tuple[float, str], ...]

    @property
    def points(self) -> float:
        return sum(p for p, _ in self.rubric)

    def render(self, params: dict) -> str:
        text = self.prompt
        for name, value in params.items():
            text = text.replace(f"<<{name}>>", f"{value:g}")
        return text


MANUAL: dict[str, list[Manual]] = {
    "gradient_dynamics": [
        Manual(
            "dual-derivation",
            "Derive the dual of Question 1 by hand: find the maximizing $y(v)$, show that $\\Xi^*$ is convex "
            "and non-negative, and state the Fenchel--Young equality it satisfies at $v=\\Xi'(y)$ "
            "(your $a = <<a>>$). A few lines of Markdown with LaTeX.",
            "$y(v)=\\operatorname{asinh}(av)/a$ from $v=\\sinh(ay)/a$; "
            "$\\Xi^*(v)=v\\operatorname{asinh}(av)/a-(\\sqrt{1+a^2v^2}-1)/a^2$; "
            "$\\Xi^{*\\prime\\prime}(v)=1/\\sqrt{1+a^2v^2}>0$; $\\Xi^*\\ge\\Xi^*(0)=0$ at its minimum $v=0$; "
            "$\\Xi(y)+\\Xi^*(v)=vy$ at $v=\\Xi'(y)$.",
            (
                (1, "the maximizer y(v) from the stationarity condition v = Xi'(y), with the scale a"),
                (1, "convexity (second derivative, or a supremum of affine functions) and Xi* >= 0, zero at v = 0"),
                (1, "the Fenchel-Young equality stated, and where it holds"),
            ),
        ),
    ],
    "kinetics": [
        Manual(
            "wegscheider",
            "Show by hand that the rate constants of Question 1 (your $c^\\circ = <<c0>>$) satisfy "
            "Wegscheider's condition for every $W_0$ and $Q$ on the cycle $A\\to B\\to C\\to A$ (the product "
            "of $k_f/k_b$ around it is 1). Then explain in two or three sentences why a driven cycle, whose "
            "product differs from 1, cannot be a generalized gradient dynamics with this entropy.",
            "$\\ln(k_f/k_b)=-\\sum_m(Q_m+1-\\ln c^\\circ)\\nu_{mn}$; around the cycle the columns of $\\nu$ "
            "add up to 0, so the logarithms cancel. A GGD relaxes to the maximum of its entropy, where every "
            "reaction is balanced; a driven cycle keeps a steady current, and so produces entropy at rest.",
            (
                (1, "ln(k_f/k_b) written as a linear function of the stoichiometry"),
                (1, "the sum around the cycle vanishes because the cycle's columns add up to zero"),
                (1, "the driven cycle: no state with every reaction balanced, a steady current, so no GGD"),
            ),
        ),
    ],
    "kinetics_priors": [
        Manual(
            "data-or-optimization",
            "Open-ended: over ten seeds a model's test MSE spreads over a factor of 20, and 70 % of it sits on "
            "the two test trajectories that start below the training range. Describe two measurements, with "
            "this chapter's tools, that tell whether a prior, a larger budget or simply more seeds is what it "
            "needs; for each, say which outcome points to a limit of the data (extrapolation) and which to a "
            "limit of the optimization. How would you report the result? A few sentences.",
            "(1) The share of the error outside the training range (`g.metrics.extrapolation_share`) in every "
            "run, before and after a larger budget: if it stays high while the error inside the range falls, "
            "the limit is extrapolation, which a prior that knows the behaviour there (the mixing term, a "
            "mobility of ln c) removes and the budget does not. (2) Vary one thing at a time over seeds: the "
            "initial weights with the subsample fixed, the subsample with the weights fixed, and twice the "
            "iterations; a spread that comes from both and shrinks with the budget (a loss still falling at the "
            "end) is the optimization. Report the range over seeds (and thread counts), the worst run, and "
            "assert levels at the worst run, never one run.",
            (
                (
                    1,
                    "a measurement of where the error sits (outside/inside the training range) and what a high share means",
                ),
                (1, "seeds split into weights and subsample, or the budget varied: what a spread that shrinks means"),
                (1, "statistics over seeds: the range and the worst run reported, no conclusion from one run"),
            ),
        ),
    ],
    "generic": [
        Manual(
            "discrete-gradient-laws",
            "Derive by hand: (a) why the step of Question 2 conserves $H$ exactly, for every $\\Delta t$, "
            "once its implicit equation is solved; (b) $H_{n+1}-H_n$ for the implicit midpoint rule "
            "$\\mathbf x_{n+1}=\\mathbf x_n+\\Delta t\\,J\\,\\nabla H(\\mathbf m)$ with your $k=<<k>>$, in terms "
            "of $\\mathbf m$ and $\\boldsymbol\\delta=\\mathbf x_{n+1}-\\mathbf x_n$, and why it vanishes for a "
            "quadratic $H$; (c) that the GENERIC step of the chapter, "
            "$\\boldsymbol\\delta=\\Delta t\\,[P_{\\bar s}AP_{\\bar s}\\,\\bar{\\mathbf e}+Q_{\\bar e}\\,"
            "\\partial_{\\mathbf y}\\Xi_0(\\mathbf m,Q_{\\bar e}\\bar{\\mathbf s})]$, never lowers $S$. "
            "A few lines of Markdown with LaTeX.",
            "(a) $H_{n+1}-H_n=\\bar\\nabla H\\cdot\\boldsymbol\\delta=\\Delta t\\,\\bar\\nabla H\\cdot J\\bar\\nabla H=0$ "
            "($J$ antisymmetric). (b) Expanding about $\\mathbf m$, the odd terms remain: "
            "$H_{n+1}-H_n=\\nabla H(\\mathbf m)\\cdot\\boldsymbol\\delta+\\tfrac{1}{24}V'''(m_q)\\,\\delta_q^3"
            "=0+\\tfrac k4\\,m_q\\delta_q^3$; for a quadratic $H$, $V'''=0$. (c) "
            "$S_{n+1}-S_n=\\bar{\\mathbf s}\\cdot\\boldsymbol\\delta=\\Delta t\\,[(P\\bar{\\mathbf s})\\cdot "
            "A(P\\bar{\\mathbf e})+\\mathbf y\\cdot\\partial_{\\mathbf y}\\Xi_0(\\mathbf m,\\mathbf y)]$ with "
            "$P\\bar{\\mathbf s}=0$, $\\mathbf y=Q_{\\bar e}\\bar{\\mathbf s}$ ($Q$ symmetric); convexity with "
            "$\\Xi_0(\\mathbf m,0)=0$ gives $\\mathbf y\\cdot\\partial\\Xi_0\\ge\\Xi_0(\\mathbf m,\\mathbf y)\\ge0$.",
            (
                (1, "(a) the discrete-gradient identity and the antisymmetry of J, for any dt"),
                (1, "(b) the defect (k/4) m_q delta_q^3 from the cubic term of the expansion; zero for quadratic H"),
                (1, "(c) P s = 0 removes the reversible part, and convexity with Xi_0(m, 0) = 0 gives >= 0"),
            ),
        ),
    ],
    "structure": [
        Manual(
            "noise-stride",
            "Open-ended: with your stride $s = <<stride>>$, how do the noise part of the velocity error "
            "(Question 1) and the truncation error of the stencil scale with $s$? For noise "
            "$\\sigma=10^{-3}$, $\\Delta t = 0.1$ and a third derivative of size 1, which stride "
            "minimizes the total, and is yours a good choice? Justify it in a few sentences.",
            "The noise MSE falls as $s^{-2}$; the truncation error of the central difference is "
            "$(s\\Delta t)^2|x'''|/6$, its square grows as $s^4$; balancing them gives $s^6\\propto\\sigma^2/\\Delta t^6$.",
            (
                (1, "the noise term falls as 1/s^2"),
                (1, "the truncation error grows as (s dt)^2, its square as s^4"),
                (1, "a balanced choice of s with the numbers, and a judgement of the student's own s"),
            ),
        ),
    ],
}


ASSIGNMENTS: dict[str, list[Question]] = {
    "gradient_dynamics": GRADIENT_DYNAMICS,
    "icnn": ICNN,
    "overdamped": OVERDAMPED,
    "kinetics": KINETICS,
    "diffusion": DIFFUSION,
    "structure": STRUCTURE,
    "own_system": OWN_SYSTEM,
    "generic": GENERIC,
    "kinetics_priors": KINETICS_PRIORS,
}


# ---------------------------------------------------------------------------------------------
# The instructor's key. Everything above is public, reference answers and hidden tests included: an
# open book's practice assignments. Questions for credit go in a key, a Python file kept out of the
# repository (see tools/key_example.py for its form), applied with ``make_coursework.py --key PATH``.


def load_key(path: str | Path) -> None:
    """Apply an instructor's key to :data:`ASSIGNMENTS`, :data:`MANUAL` and :data:`SALT`, in place.

    The key is a Python file that may define ``QUESTIONS`` (chapter -> list of :class:`Question`: one
    with a public question's name replaces it, the others are added), ``MANUAL`` (chapter -> list of
    :class:`Manual`, the same way), ``WITHDRAW`` (chapter -> names of public questions to drop, e.g.
    those whose answers the repository shows) and ``SALT`` (a string, see :data:`SALT`). The key is
    loaded only in the process that generates and grades; the students' processes receive each
    question's probe (by value) and never the key's references or checks.

    Raises
    ------
    ValueError
        The file cannot be loaded, defines none of these names, or names an unknown chapter or
        question, gives something other than questions, or leaves two questions of a chapter with
        one name.
    """
    global SALT
    path = Path(path)
    spec = importlib.util.spec_from_file_location("coursework_key", path)
    if not path.is_file() or spec is None or spec.loader is None:
        raise ValueError(f"no key file at {path}")
    key = importlib.util.module_from_spec(spec)  # not put in sys.modules: its functions travel by value
    spec.loader.exec_module(key)
    parts = {name: getattr(key, name) for name in ("QUESTIONS", "MANUAL", "WITHDRAW", "SALT") if hasattr(key, name)}
    if not parts:
        raise ValueError(f"{path.name} defines none of QUESTIONS, MANUAL, WITHDRAW, SALT")
    questions, manual = dict(parts.get("QUESTIONS", {})), dict(parts.get("MANUAL", {}))
    for chapter in [*questions, *manual, *parts.get("WITHDRAW", {})]:
        if chapter not in ASSIGNMENTS:
            raise ValueError(f"{path.name}: no assignment {chapter!r}; there are: {', '.join(ASSIGNMENTS)}")
    for chapter, names in parts.get("WITHDRAW", {}).items():
        unknown = set(names) - {q.name for q in ASSIGNMENTS[chapter]} - {m.name for m in MANUAL.get(chapter, [])}
        if unknown:
            raise ValueError(f"{path.name}: WITHDRAW names no question {sorted(unknown)} of {chapter!r}")
        ASSIGNMENTS[chapter][:] = [q for q in ASSIGNMENTS[chapter] if q.name not in names]
        MANUAL[chapter] = [m for m in MANUAL.get(chapter, []) if m.name not in names]
    for table, given, kind in ((ASSIGNMENTS, questions, Question), (MANUAL, manual, Manual)):
        for chapter, items in given.items():
            if not all(isinstance(item, kind) for item in items):
                raise ValueError(f"{path.name}: {chapter!r} holds something that is not a {kind.__name__}")
            current = {item.name: item for item in table.setdefault(chapter, [])}
            for item in items:
                current[item.name] = item  # replaces a public one of that name, or comes after them
            table[chapter][:] = list(current.values())
    for chapter in ASSIGNMENTS:
        names = [q.name for q in ASSIGNMENTS[chapter]] + [m.name for m in MANUAL.get(chapter, [])]
        if len(names) != len(set(names)):
            raise ValueError(f"{path.name}: two questions of {chapter!r} share a name")
    SALT = str(parts.get("SALT", ""))
