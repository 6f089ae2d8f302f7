"""Learn thermodynamically consistent (generalized gradient) dynamics from data."""

from . import equilibria, exercises
from .data import (
    TrajectoryData,
    TrajectorySet,
    fourier_modes,
    gaussian_spikes,
    polynomial_profiles,
    simulate,
    step_profiles,
    uniform_box,
)
from .equilibria import compare_equilibria, principal_angles
from .fields import LocalConvolution, LocalFieldModel
from .gauge import GaugeFit, fix_gauge
from .integrators import euler_step, rk4_step, rollout
from .loading import read_trajectories_csv, trajectories_from_arrays, write_trajectories_csv
from .metrics import (
    entropy_production,
    finite_difference_floor,
    predict_trajectories,
    rollout_mse,
    true_entropy_rate,
    velocity_mse,
)
from .networks import (
    ConcaveEntropy,
    ConvexDissipation,
    GradientDynamicsModel,
    MLPVectorField,
    MobilityDissipation,
    count_parameters,
    positive_weight,
)
from .systems import FickianDiffusion, MassActionKinetics, OverdampedParticle, PorousMediumDiffusion, ReactionCycle
from .training import FitHistory, default_device, fit

__version__ = "0.1.0"
