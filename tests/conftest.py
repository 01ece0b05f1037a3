"""Shared fixtures and hypothesis settings for the package tests."""

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Deterministic, CI-friendly property tests: a fixed number of examples, no
# per-example deadline (BLAS timing varies on shared 2-core machines) and a
# derandomised search so that a failure reproduces on every run.
settings.register_profile(
    "book", max_examples=60, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("book")


def random_data(seed, n=30, p=8):
    """A dense random X (n x p) with distinct singular values (almost surely)."""
    return np.random.default_rng(seed).standard_normal((n, p))


@pytest.fixture
def X_small():
    return random_data(0)
