"""Tests of cosim_helpers.images: the block average every heat map is drawn from."""

import numpy as np
import pytest

from cosim_helpers.images import block_average


@pytest.mark.parametrize("p,size", [(12, 4), (13, 4), (10, 3), (6, 6), (5, 8)])
def test_block_average_is_the_mean_of_each_block(p, size):
    S = np.random.default_rng(p).standard_normal((p, p))
    out = block_average(S, size)
    if p <= size:
        assert np.array_equal(out, S) and out is not S
        return
    edges = np.rint(np.linspace(0, p, size + 1)).astype(int)
    expected = np.array([[S[edges[i]:edges[i + 1], edges[j]:edges[j + 1]].mean() for j in range(size)]
                         for i in range(size)])
    assert out.shape == (size, size)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-14)


def test_block_average_rejects_bad_input():
    with pytest.raises(ValueError, match="square"):
        block_average(np.ones((3, 4)), 2)
    with pytest.raises(ValueError, match="size"):
        block_average(np.eye(4), 1)
    with pytest.raises(TypeError, match="size"):
        block_average(np.eye(4), 2.0)
