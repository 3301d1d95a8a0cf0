"""Test configuration: Hypothesis profiles and numeric strictness.

Profiles (choose with ``THEORYCHECK_HYPOTHESIS_PROFILE``): ``deterministic`` (default, used by CI:
derandomised, no example database, no deadline — a slow numerical example is not a wrong one) and
``explore`` (random, more examples) for hunting counterexamples by hand.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("deterministic", derandomize=True, database=None, deadline=None,
                          print_blob=True, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", deadline=None, print_blob=True, max_examples=300,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("THEORYCHECK_HYPOTHESIS_PROFILE", "deterministic"))


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    """Tests call the maths directly, outside the sweeps that set BLAS threads; their matrices are
    small, where threads only add overhead (a Theorem 2 test took 36 s with two threads, 2.7 s with one)."""
    import scipy.linalg  # noqa: F401  scipy's own BLAS copy must be loaded to be limited too
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(autouse=True)
def _strict_floats():
    """Overflow, invalid operations and division by zero raise instead of leaving NaN behind."""
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        yield
