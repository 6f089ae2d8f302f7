"""Your own data in: lists of trajectories and CSV files, every bad input refused with a clear message."""

import math

import numpy as np
import pytest
import torch

import ggd_tutorial as g


def decay(n_samples, x0=1.0, dt=0.01, t0=0.0):
    t = t0 + dt * np.arange(n_samples)
    return np.stack([x0 * np.exp(-t), 0.5 * x0 * np.exp(-2 * t)], axis=1), t


def test_trajectories_of_different_lengths_and_start_times():
    pieces = [decay(n, x0=1 + k, t0=0.3 * k) for k, n in enumerate([50, 80, 20, 65, 40])]
    data = g.trajectories_from_arrays([x for x, _ in pieces], times=[t for _, t in pieces], test_fraction=0.4)
    assert data.dt == pytest.approx(0.01) and data.dim == 2
    lengths = torch.tensor([50, 80, 20, 65, 40])
    # every interior sample becomes exactly one training/test point: none dropped, no padding used
    n_points = len(data.train.points()[0]) + len(data.test.points()[0])
    assert n_points == int((lengths - 2).sum())
    assert torch.isfinite(data.train.points()[0]).all() and torch.isfinite(data.train.points()[1]).all()
    # the exact field (x1' = -x1, x2' = -2 x2): the velocity MSE is the central-difference floor only
    exact = lambda x: torch.stack([-x[:, 0], -2 * x[:, 1]], dim=1)  # noqa: E731
    mse = g.velocity_mse(exact, data)
    assert math.isfinite(mse) and mse < 1e-8
    per = g.velocity_mse(exact, data, per_trajectory=True)
    assert per.shape == (len(data.test),) and torch.isfinite(per).all()
    assert g.rollout_mse(exact, data) < 1e-12  # RK4 of the exact field, padding ignored


def test_a_model_trains_on_ragged_data():
    pieces = [decay(n, x0=0.5 + 0.1 * k)[0] for k, n in enumerate([60, 90, 30, 75, 45, 80])]
    data = g.trajectories_from_arrays(pieces, dt=0.01, test_fraction=0.34)
    torch.manual_seed(0)
    model = g.GradientDynamicsModel(2, hidden=(8,))
    history = g.fit(model, data, adam_steps=50, lbfgs_steps=100, progress=False)
    assert math.isfinite(history.returned_loss)
    assert g.velocity_mse(model, data) < 1e-3 * float((data.test.points()[1] ** 2).mean())
    g.fit(model, data, adam_steps=0, lbfgs_steps=5, rollout_window=3, progress=False)  # windows stay inside


def test_csv_round_trip(tmp_path):
    pieces = [decay(n, x0=1 + k)[0] for k, n in enumerate([30, 45, 25])]
    path = tmp_path / "data.csv"
    g.write_trajectories_csv(path, pieces, dt=0.01, names=["A", "B"])
    data = g.read_trajectories_csv(path, test_fraction=0.0)
    assert data.state_names == ["A", "B"] and data.trajectory_ids == ["0", "1", "2"]
    assert data.dt == pytest.approx(0.01)
    for k, x in enumerate(pieces):
        stored = data.trajectories[k, : len(x)].numpy()
        assert np.array_equal(stored, x)  # repr() round-trips floats exactly


def test_csv_rows_may_come_in_any_order(tmp_path):
    x, t = decay(10)
    rows = [f"1,{float(ti)!r},{float(a)!r},{float(b)!r}" for ti, (a, b) in zip(t, x)][::-1]
    path = tmp_path / "shuffled.csv"
    path.write_text("trajectory,time,A,B\n" + "\n".join(rows) + "\n")
    data = g.read_trajectories_csv(path, test_fraction=0.0)
    assert np.allclose(data.trajectories[0].numpy(), x)


BAD_ARRAYS = {
    "nan": (
        lambda: ([decay(10)[0], np.array([[1.0, 2.0], [np.nan, 1.0], [1.0, 1.0]])], dict(dt=0.1)),
        r"trajectory 1, sample 1, component 0 is nan",
    ),
    "inf": (lambda: ([np.array([[1.0], [np.inf], [1.0]])], dict(dt=0.1)), "NaN or inf"),
    "too short": (lambda: ([decay(10)[0], decay(2)[0]], dict(dt=0.1)), "trajectory 1 has 2 samples"),
    "non-increasing times": (lambda: ([decay(4)[0]], dict(times=[[0.0, 0.1, 0.1, 0.2]])), r"times must increase"),
    "decreasing times": (lambda: ([decay(3)[0]], dict(times=[[0.2, 0.1, 0.0]])), r"times must increase"),
    "non-uniform times": (lambda: ([decay(4)[0]], dict(times=[[0.0, 0.1, 0.3, 0.4]])), "non-uniform time steps"),
    "mixed steps": (
        lambda: ([decay(4)[0], decay(4)[0]], dict(times=[np.arange(4) * 0.1, np.arange(4) * 0.2])),
        "different steps",
    ),
    "mixed dimensions": (lambda: ([decay(5)[0], np.ones((5, 3))], dict(dt=0.1)), r"mixed state dimensions \[2, 3\]"),
    "negative concentration": (lambda: ([decay(5)[0] - 0.6], dict(dt=0.1, positive=True)), "positive=True"),
    "both times and dt": (lambda: ([decay(5)[0]], dict(dt=0.1, times=[np.arange(5)])), "either times"),
    "neither": (lambda: ([decay(5)[0]], dict()), "either times"),
    "stamps count": (lambda: ([decay(5)[0]], dict(times=[np.arange(4)])), "4 time stamps for 5 samples"),
    "empty": (lambda: ([], dict(dt=0.1)), "non-empty"),
    "not numeric": (lambda: ([[["a", "b"]] * 4], dict(dt=0.1)), "not numeric"),
}


@pytest.mark.parametrize("case", BAD_ARRAYS)
def test_bad_arrays_are_refused_with_a_message_that_names_the_problem(case):
    make, match = BAD_ARRAYS[case]
    states, kwargs = make()
    with pytest.raises(ValueError, match=match):
        g.trajectories_from_arrays(states, **kwargs)


@pytest.mark.parametrize(
    "text, match",
    [
        ("trajectory,time,A\n0,0.0,1.0\n0,0.1,oops\n0,0.2,1.0\n", r"line 3, column 'A': 'oops' is not a number"),
        ("id,time,A\n0,0.0,1.0\n", "no column 'trajectory'"),
        ("trajectory,time\n0,0.0\n", "no state columns"),
        ("trajectory,time,A\n", "no data rows"),
        ("trajectory,time,A\n0,0.0,1.0\n0,0.0,1.0\n0,0.1,1.0\n", "times must increase"),
    ],
)
def test_bad_csv_files_are_refused(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        g.read_trajectories_csv(path)
