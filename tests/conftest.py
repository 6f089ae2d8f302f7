import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from build_book import committed_seconds  # noqa: E402


def pytest_report_header(config):
    return (
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"CPU capability {torch.backends.cpu.get_cpu_capability()} "
        f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
        f"MKL_CBWR={os.environ.get('MKL_CBWR', 'unset')}; the notebook kernels inherit both)"
    )


def pytest_collection_modifyitems(config, items):
    """Chapter notebooks (nbval) are the `notebooks` tier, and slow. They run first, the longest
    first (by the committed runtimes), so that with two workers the many short test files fill the
    end of the run instead of one worker waiting for the other's long chapter."""
    seconds = committed_seconds()
    for item in items:
        if str(item.fspath).endswith(".ipynb"):
            item.add_marker(pytest.mark.notebooks)
            item.add_marker(pytest.mark.slow)

    def rank(item):
        path = Path(str(item.fspath))
        return (0, -seconds.get(path.stem, 0.0)) if path.suffix == ".ipynb" else (1, 0.0)

    items[:] = sorted(items, key=rank)  # stable: the cells of a notebook and the tests of a file keep their order


@pytest.fixture(autouse=True)
def _float64_and_seed():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(1234)
    yield
    torch.set_default_dtype(old)


def hessian_eigenvalues(f, x):
    """Eigenvalues of the Hessian of a scalar function f at each row of x."""
    out = []
    for row in x:
        h = torch.autograd.functional.hessian(lambda z: f(z[None]).sum(), row)
        out.append(torch.linalg.eigvalsh(h))
    return torch.stack(out)


def randomize(module, scale=0.7, seed=0):
    """Draw every weight anew (far from the initialization: the structure must hold for all weights)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return module
