"""The device/dtype contract: every function that runs a model works on the model's device and
dtype and answers on the caller's (checked here across dtypes, which needs no GPU), and a smoke
test of the book's train-rollout-check sequences on CUDA (skipped without one)."""

import pytest
import torch

import ggd_tutorial as g
from ggd_tutorial.book import experiments, levels
from ggd_tutorial.book import studies as comparison

DTYPE_PAIRS = [(torch.float32, torch.float64), (torch.float64, torch.float32)]


def trained_pair():
    """The same small trained model in float64 and float32."""
    system, data = experiments.overdamped_data(dim=2, n=12, steps=256)
    torch.manual_seed(0)
    model = g.GradientDynamicsModel(2, hidden=(8,))
    g.fit(model, data, adam_steps=20, lbfgs_steps=20, max_points=500, progress=False)
    model32 = g.GradientDynamicsModel(2, hidden=(8,)).float()
    model32.load_state_dict({k: v.float() for k, v in model.state_dict().items()})
    return system, data, {torch.float64: model, torch.float32: model32}


@pytest.mark.parametrize("model_dtype, input_dtype", DTYPE_PAIRS, ids=["f32-model", "f64-model"])
def test_every_model_runner_aligns_inputs_and_answers_in_the_callers_dtype(model_dtype, input_dtype):
    system, data, models = trained_pair()
    model, reference = models[model_dtype], models[torch.float64]
    atol = 1e-4
    x = data.test.states[:, 0].to(input_dtype)

    out = g.metrics.evaluate(model, x)
    assert out.dtype == input_dtype
    assert torch.allclose(out.double(), g.metrics.evaluate(reference, x.double()), atol=atol)

    traj = g.rollout(model, x, 0.01, 30)
    assert traj.dtype == input_dtype
    assert torch.allclose(traj.double(), g.rollout(reference, x.double(), 0.01, 30), atol=atol)

    sigma = g.entropy_production(model, traj)
    assert sigma.dtype == input_dtype and sigma.shape == traj.shape[:-1]
    assert torch.allclose(sigma.double(), g.entropy_production(reference, traj.double()), atol=atol)

    assert g.velocity_mse(model, data) == pytest.approx(g.velocity_mse(reference, data), rel=1e-3, abs=1e-7)
    gauge = g.fix_gauge(model, system, x)
    assert gauge.entropy_rank_correlation == pytest.approx(
        g.fix_gauge(reference, system, x.double()).entropy_rank_correlation, abs=1e-3
    )

    horizons = comparison.horizon_errors(model, system, x, horizon=0.5, multiples=(1, 2))
    assert horizons.predicted.dtype == input_dtype

    # a student's own answer, x* . xdot (the grader refuses the package's entropy_production)
    grade = g.book.exercises.check_entropy_production(lambda m, s: (m.conjugate(s) * m(s)).sum(-1), model)
    assert grade.passed, grade.message


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", sorted(experiments.SETTINGS))
def test_cuda_train_rollout_check(name):
    """Each chapter's sequence on CUDA with a short budget: train, then every measured quantity
    (rollouts, gauge fixing, the second law) computes and is finite."""
    result = experiments.run(name, progress=False, device="cuda", adam_steps=20, lbfgs_steps=20)
    assert next(result.model.parameters()).device.type == "cuda"
    values = levels.measure(result)
    assert all(torch.isfinite(torch.tensor(v)) for v in values.values()), values
    traj = g.rollout(result.model, result.data.test.trajectories[:4, 0], result.data.dt, 20)
    assert traj.device.type == "cpu"
    assert g.entropy_production(result.model, traj).min() >= -1e-9


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_readme_example():
    system = g.MassActionKinetics([[-1, 0, 1], [1, -1, 0], [0, 1, -1]], W0=[4.0, 2.0, 1.0])
    data = g.TrajectoryData(g.simulate(system, g.uniform_box(16, 3, 0.01, 1.0), 0.005, 256), 0.005)
    model = g.GradientDynamicsModel(3, hidden=(16, 16), dissipation_rank=2, quadratic=False)
    history = g.fit(model, data, device="auto", adam_steps=50, lbfgs_steps=50, progress=False)
    assert history.device.startswith("cuda") and history.returned_loss < history.loss[0]
    traj = g.rollout(model, data.test.trajectories[:, 0], 0.005, 100)
    assert g.entropy_production(model, traj).min() >= -1e-9
