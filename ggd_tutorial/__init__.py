"""Learn thermodynamically consistent (generalized gradient) dynamics from data.

The core library: networks with the structure built in, models, systems, integrators, data,
training, metrics, gauge fixing and equilibria. The book's own configuration (its experiments,
studies, levels, figures and graders) lives in :mod:`ggd_tutorial.book`, which the core never imports.
"""

from __future__ import annotations

import importlib
import warnings
from importlib import metadata as _metadata
from typing import Any

from .data import (
    TrajectoryData,
    TrajectorySet,
    add_noise,
    fourier_modes,
    gaussian_spikes,
    polynomial_profiles,
    simulate,
    step_profiles,
    uniform_box,
)
from .discrete_gradient import discrete_gradient, discrete_gradient_step
from .equilibria import compare_equilibria, principal_angles
from .fields import LocalConvolution, LocalFieldModel
from .gauge import GaugeFit, fix_gauge
from .generic import GENERICModel
from .integrators import euler_step, rk4_step, rollout
from .loading import read_trajectories_csv, trajectories_from_arrays, write_trajectories_csv
from .metrics import (
    entropy_production,
    entropy_steps,
    finite_difference_floor,
    horizon_errors,
    predict_trajectories,
    rollout_mse,
    second_law_violations,
    true_entropy_rate,
    true_velocity_mse,
    velocity_mse,
)
from .networks import (
    ConcaveEntropy,
    ConvexDissipation,
    GradientDynamicsModel,
    MLPVectorField,
    MobilityDissipation,
    count_parameters,
    matched_mlp,
    positive_weight,
)
from .systems import (
    FickianDiffusion,
    GradientSystem,
    MassActionKinetics,
    OverdampedParticle,
    PorousMediumDiffusion,
    ReactionCycle,
)
from .training import FitHistory, default_device, fit

try:
    __version__ = _metadata.version("ggd-tutorial")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    # models and their building blocks
    "ConcaveEntropy",
    "ConvexDissipation",
    "MobilityDissipation",
    "GradientDynamicsModel",
    "GENERICModel",
    "LocalFieldModel",
    "LocalConvolution",
    "MLPVectorField",
    "matched_mlp",
    # systems with known potentials
    "GradientSystem",
    "OverdampedParticle",
    "MassActionKinetics",
    "FickianDiffusion",
    "PorousMediumDiffusion",
    "ReactionCycle",
    # data and integration
    "simulate",
    "rollout",
    "discrete_gradient_step",
    "discrete_gradient",
    "uniform_box",
    "add_noise",
    "TrajectoryData",
    "TrajectorySet",
    "read_trajectories_csv",
    "trajectories_from_arrays",
    "write_trajectories_csv",
    # training
    "fit",
    "FitHistory",
    # analysis
    "velocity_mse",
    "rollout_mse",
    "true_velocity_mse",
    "predict_trajectories",
    "horizon_errors",
    "second_law_violations",
    "entropy_production",
    "entropy_steps",
    "finite_difference_floor",
    "fix_gauge",
    "GaugeFit",
    "compare_equilibria",
    "__version__",
]

#: Modules of the book layer that used to live at the top level (kept for one release).
_MOVED = {"experiments", "levels", "plotting", "exercises", "comparison"}


def __getattr__(name: str) -> Any:
    """Load the book layer on first use (``ggd_tutorial.book``), and the old top-level names of its
    modules with a ``DeprecationWarning`` (PEP 562)."""
    if name == "book":
        return importlib.import_module(".book", __name__)
    if name in _MOVED:  # warn here, at the caller's line; the alias module itself stays quiet
        new = "studies" if name == "comparison" else name
        warnings.warn(
            f"ggd_tutorial.{name} moved to ggd_tutorial.book.{new}; the old name is removed in 0.3.0",
            DeprecationWarning,
            stacklevel=2,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
