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


@pytest.fixture(autouse=True)
def _strict_floats():
    """Overflow, invalid operations and division by zero raise instead of leaving NaN behind."""
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        yield
