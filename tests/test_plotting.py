"""The explorer figures and the slider helper (the book's static and interactive figures)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from ggd_tutorial.book import plotting  # noqa: E402


def test_dissipation_shape_relaxation_starts_at_x0_and_rejects_bad_nonlinearity():
    fig = plotting.plot_dissipation_shape(nonlinearity=2.0, x0=1.5)
    for line in fig.axes[2].get_lines():
        assert line.get_ydata()[0] == pytest.approx(1.5)
    # the cosh relaxation is faster than the exponential one at every later time
    cosh_line, quadratic_line = fig.axes[2].get_lines()
    assert (cosh_line.get_ydata()[1:] < quadratic_line.get_ydata()[1:]).all()
    plt.close(fig)
    with pytest.raises(ValueError, match="positive"):
        plotting.plot_dissipation_shape(nonlinearity=0.0)


def test_kinetics_explorer_entropy_never_decreases():
    fig = plotting.plot_kinetics_explorer(W1=0.5, W2=6.0, Q_C=0.5, t_end=3.0)
    entropy = fig.axes[1].get_lines()[0].get_ydata()
    assert (entropy[1:] - entropy[:-1]).min() >= -1e-12
    assert len(fig.axes[0].get_lines()) == 4
    plt.close(fig)


def test_interactive_builds_sliders_and_redraws():
    calls = []

    def draw(a=1.0):
        calls.append(a)
        return plt.figure()

    widget = plotting.interactive(draw, a=(0.5, 2.0, 0.5))
    assert calls, "the figure is drawn once when the sliders appear"
    slider = widget.widget.children[0]
    slider.value = 2.0
    assert calls[-1] == 2.0
    plt.close("all")
