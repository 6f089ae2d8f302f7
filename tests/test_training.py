import math
import warnings

import pytest
import torch

import ggd_tutorial as g
from ggd_tutorial.book import experiments


def small_overdamped():
    system, data = experiments.overdamped_data(dim=1, n=20, steps=512)
    return system, data


def test_overdamped_is_learned_below_thesis_level():
    system, data = small_overdamped()
    torch.manual_seed(0)
    model = g.GradientDynamicsModel(1, hidden=(8, 8))
    history = g.fit(model, data, adam_steps=50, lbfgs_steps=150, max_points=500, adam_lr=1e-2, progress=False)
    mse = g.velocity_mse(model, data)
    assert mse < 1e-6, mse
    assert history.phase[0] == "adam" and history.phase[-1] == "lbfgs"
    assert len(history.loss) == len(history.time) == len(history.phase)
    assert history.device == str(next(model.parameters()).device)


@pytest.mark.slow
def test_thesis_reactions_are_learned_below_thesis_level():
    system, data = experiments.kinetics_data(n=40, steps=1024)
    torch.manual_seed(0)
    model = g.GradientDynamicsModel(4, entropy=system.entropy, hidden=(16, 16), dissipation_rank=2, quadratic=False)
    g.fit(model, data, adam_steps=100, lbfgs_steps=300, max_points=800, adam_lr=1e-2, progress=False)
    mse = g.velocity_mse(model, data)
    assert mse < experiments.THESIS_MSE["kinetics-prescribed-S"], mse
    # the learned model obeys the second law along its own rollouts
    traj = g.rollout(model, data.test.trajectories[:, 0], data.dt, 200)
    assert g.entropy_production(model, traj).min() >= -1e-12


def test_same_seed_same_numbers():
    _, data = small_overdamped()
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        model = g.GradientDynamicsModel(1, hidden=(4,))
        h = g.fit(model, data, adam_steps=10, lbfgs_steps=10, max_points=200, batch_size=50, seed=5, progress=False)
        runs.append((h.loss, [p.detach().clone() for p in model.parameters()]))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))


def test_float32_training_decreases_the_loss():
    _, data = small_overdamped()
    torch.manual_seed(0)
    model = g.GradientDynamicsModel(1, hidden=(4,))
    x, v = data.train.points()
    before = training_mse(model.float(), data)
    h = g.fit(model, data, adam_steps=20, lbfgs_steps=20, dtype=torch.float32, device="cpu", progress=False)
    assert next(model.parameters()).dtype == torch.float32 and h.dtype == "float32"
    assert math.isfinite(h.returned_loss) and h.returned_loss < 0.1 * before, (h.returned_loss, before)


# ---------------------------------------------------------------- fit's safety promises
# Each promise has a check; `test_each_check_fails_without_its_safety` removes the safety and shows
# that the same check then fails.


class Toy(torch.nn.Module):
    """xdot = -a x (the data are xdot = -x, so the best a is 1), with hooks that misbehave."""

    def __init__(self, misbehave=None) -> None:
        super().__init__()
        self.dim = 1
        self.a = torch.nn.Parameter(torch.tensor([0.1]))
        self.calls, self.misbehave = 0, misbehave

    def forward(self, x):
        self.calls += 1
        if self.training and self.misbehave is not None:
            self.misbehave(self)
        return -self.a * x


def training_mse(model, data):
    x, v = data.train.points()
    dtype = next(model.parameters()).dtype
    with torch.no_grad():
        return float(((model.eval()(x.to(dtype)) - v.to(dtype)) ** 2).mean())


def poison_weights_after(calls):
    """A step that lands on NaN weights (the NaN reaches the parameters themselves)."""

    def misbehave(model):
        if model.calls > calls:
            with torch.no_grad():
                model.a.fill_(float("nan"))

    return misbehave


def check_divergence_restores_the_best(fit):
    _, data = small_overdamped()
    model = Toy(poison_weights_after(15))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = fit(model, data, adam_steps=10, lbfgs_steps=40, progress=False, max_points=None)
    assert torch.isfinite(model.a).all(), "NaN weights returned"
    assert history.returned_loss == pytest.approx(training_mse(model, data), rel=1e-12)
    assert history.restored_best


def interrupt_after(calls, poison=True):
    def misbehave(model):
        if model.calls > calls:
            if poison:
                with torch.no_grad():
                    model.a.fill_(float("nan"))
            raise KeyboardInterrupt

    return misbehave


def check_interrupt_restores_and_reraises(fit):
    _, data = small_overdamped()
    model = Toy(interrupt_after(14))
    with pytest.warns(RuntimeWarning, match="interrupted"), pytest.raises(KeyboardInterrupt):
        fit(model, data, adam_steps=10, lbfgs_steps=40, progress=False, max_points=None)
    assert torch.isfinite(model.a).all(), "Ctrl-C left NaN weights"
    assert 0.1 < float(model.a.detach()) <= 1.0 + 1e-6  # the best weights seen, after some progress


def hiccup_at(calls):
    """NaN losses on two calls only: a bad trial point of the line search."""

    def misbehave(model):
        if calls < model.calls <= calls + 2:
            with torch.no_grad():
                model.a.mul_(float("nan"))

    return misbehave


def check_one_bad_trial_point_does_not_end_training(fit):
    _, data = small_overdamped()
    model = Toy(hiccup_at(12))  # at the start of L-BFGS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = fit(model, data, adam_steps=10, lbfgs_steps=60, progress=False, max_points=None)
    assert history.restarts_after_nonfinite >= 1 and history.stop_reason != "diverged"
    assert abs(float(model.a.detach()) - 1.0) < 1e-2, float(model.a.detach())  # stopping at the NaN leaves a near 0.2


def device_error_after(calls):
    def misbehave(model):
        if model.calls > calls and torch.is_grad_enabled():  # inside an optimizer step
            raise RuntimeError("CUDA error: an illegal memory access was encountered")

    return misbehave


def check_device_errors_propagate(fit):
    _, data = small_overdamped()
    model = Toy(device_error_after(15))
    with pytest.raises(RuntimeError, match="illegal memory access"):
        fit(model, data, adam_steps=10, lbfgs_steps=40, progress=False)
    assert torch.isfinite(model.a).all()


def check_adam_stops_at_a_nonfinite_loss(fit):
    _, data = small_overdamped()
    model = Toy(poison_weights_after(30))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = fit(model, data, adam_steps=200, lbfgs_steps=0, progress=False)
    adam = [v for v, p in zip(history.loss, history.phase) if p == "adam"]
    assert len(adam) <= 30 + g.training.CHECK_EVERY, "Adam went on after a NaN loss"
    assert torch.isfinite(model.a).all() and history.restored_best


def check_validation_before_touching_the_model(fit):
    _, data = small_overdamped()
    model = g.GradientDynamicsModel(1, hidden=(4,)).float()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError):
        fit(model, data, on_interrupt="ignore", progress=False)
    assert next(model.parameters()).dtype == torch.float32, "the model was cast before the arguments were checked"
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


SAFETY_CHECKS = {
    check_divergence_restores_the_best: "restore_best",
    check_interrupt_restores_and_reraises: "interrupted",
    check_one_bad_trial_point_does_not_end_training: "restart_after_divergence",
    check_device_errors_propagate: "lbfgs_chunk",
    check_adam_stops_at_a_nonfinite_loss: "read_losses",
    check_validation_before_touching_the_model: "_check_arguments",
}


@pytest.mark.parametrize("check", SAFETY_CHECKS, ids=lambda c: c.__name__[6:])
def test_fit_keeps_its_promise(check):
    check(g.fit)


def _without_safety(monkeypatch, name):
    """Remove one safety of fit (what the matching check must catch)."""
    run = g.training._Run
    if name == "restore_best":  # never go back to the best weights
        monkeypatch.setattr(run, name, lambda self: None)
    elif name == "restart_after_divergence":  # the old behaviour: stop for good at the first NaN
        monkeypatch.setattr(run, name, lambda self, loss: self.restore_best() or False)
    elif name == "interrupted":  # swallow Ctrl-C without restoring
        monkeypatch.setattr(run, name, lambda self: None)
    elif name == "read_losses":  # never look at Adam's losses
        original_read = run.read_losses
        monkeypatch.setattr(run, name, lambda self, pending: original_read(self, pending) or True)
    elif name == "lbfgs_chunk":  # catch every error as if it were divergence
        original = run.lbfgs_chunk

        def broad(self, opt, k):
            try:
                original(self, opt, k)
            except Exception:
                self.history.record(math.nan, "lbfgs", self.t0)

        monkeypatch.setattr(run, name, broad)
    elif name == "_check_arguments":  # check the arguments only after moving and casting the model
        original, seen = g.training._check_arguments, {}
        monkeypatch.setattr(g.training, name, lambda *args: seen.setdefault("args", args))
        original_init = run.__init__

        def late(self, *args, **kwargs):
            original_init(self, *args, **kwargs)
            original(*seen["args"])

        monkeypatch.setattr(run, "__init__", late)


@pytest.mark.parametrize("check", SAFETY_CHECKS, ids=lambda c: c.__name__[6:])
def test_each_check_fails_without_its_safety(check, monkeypatch):
    _without_safety(monkeypatch, SAFETY_CHECKS[check])
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            check(g.fit)


def test_fit_rejects_bad_arguments():
    _, data = small_overdamped()
    with pytest.raises(TypeError):
        g.fit(g.GradientDynamicsModel(1), torch.randn(3, 4, 1))
    with pytest.raises(ValueError, match="no trainable"):
        s = g.OverdampedParticle(1)
        g.fit(g.GradientDynamicsModel(1, entropy=s.entropy, dissipation=s.dissipation), data, progress=False)
    for bad in (
        dict(tol=-1),
        dict(max_time=0),
        dict(on_interrupt="ignore"),
        dict(rollout_window=-1),
        dict(adam_steps=-1),
    ):
        with pytest.raises(ValueError):
            g.fit(g.GradientDynamicsModel(1), data, progress=False, **bad)
    with pytest.raises(ValueError, match="dim"):
        g.fit(g.GradientDynamicsModel(2), data, progress=False)


def test_interrupt_can_return_the_history_instead():
    _, data = small_overdamped()
    model = Toy(interrupt_after(14))
    with pytest.warns(RuntimeWarning, match="interrupted"):
        history = g.fit(
            model, data, adam_steps=10, lbfgs_steps=40, progress=False, on_interrupt="return", max_points=None
        )
    assert history.stop_reason == "interrupted" and torch.isfinite(model.a).all()
    assert history.returned_loss == pytest.approx(training_mse(model, data), rel=1e-12)


def test_stop_reasons():
    _, data = small_overdamped()
    kw = dict(adam_steps=0, progress=False, max_points=300)
    torch.manual_seed(0)
    h = g.fit(g.GradientDynamicsModel(1, hidden=(4,)), data, lbfgs_steps=40, tol=0, **kw)
    assert h.stop_reason == "budget" and h.phase.count("lbfgs") >= 40
    torch.manual_seed(0)
    h = g.fit(g.GradientDynamicsModel(1, hidden=(4,)), data, lbfgs_steps=2000, tol=0.5, **kw)
    assert h.stop_reason == "converged", h.stop_reason
    torch.manual_seed(0)
    h = g.fit(g.GradientDynamicsModel(1, hidden=(4,)), data, lbfgs_steps=100000, tol=0, max_time=0.5, **kw)
    assert h.stop_reason == "time" and h.wall_time < 30


def test_returned_loss_is_the_loss_of_the_returned_weights_and_the_best_accepted():
    _, data = small_overdamped()
    torch.manual_seed(0)
    model = g.GradientDynamicsModel(1, hidden=(4,))
    h = g.fit(model, data, adam_steps=30, lbfgs_steps=60, progress=False, max_points=None)
    assert h.returned_loss == pytest.approx(training_mse(model, data), rel=1e-10)
    assert h.returned_loss <= min(v for v, p in zip(h.loss, h.phase) if p == "lbfgs") * (1 + 1e-9)


def test_fit_trains_where_the_model_is_unless_told():
    _, data = small_overdamped()
    model = g.GradientDynamicsModel(1, hidden=(4,))
    assert g.training.resolve_device(None, model) == torch.device("cpu")
    assert g.training.resolve_device("auto", model) == g.default_device()
    h = g.fit(model, data, adam_steps=2, lbfgs_steps=0, progress=False)
    assert h.device == str(next(model.parameters()).device)


def test_experiment_models_do_not_depend_on_default_dtype():
    system = g.OverdampedParticle(1)
    torch.set_default_dtype(torch.float32)
    a = experiments.build_model("overdamped-1d", system)
    torch.set_default_dtype(torch.float64)
    b = experiments.build_model("overdamped-1d", system)
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert next(a.parameters()).dtype == torch.float64
