"""sinusoidal_pe against an independent, scalar evaluation of the paper's formula."""

import math

import numpy as np
import pytest

from minimodel.positional import sinusoidal_pe


def paper_formula(T, d_model, base=10000.0):
    """Section 3.5 of Vaswani et al. (2017), one entry at a time with the math module."""
    pe = [[0.0] * d_model for _ in range(T)]
    for pos in range(T):
        for column in range(d_model):
            two_i = column - column % 2
            angle = pos / base ** (two_i / d_model)
            pe[pos][column] = math.sin(angle) if column % 2 == 0 else math.cos(angle)
    return np.array(pe, dtype=np.float64).reshape(T, d_model)


@pytest.mark.parametrize("T, d_model", [(3, 8), (1, 2), (10, 16), (50, 64), (7, 5), (4, 1), (0, 6)])
def test_equals_the_paper_formula(T, d_model):
    np.testing.assert_allclose(sinusoidal_pe(T, d_model), paper_formula(T, d_model), rtol=0, atol=1e-12)


def test_known_values():
    pe = sinusoidal_pe(3, 8)
    assert pe.dtype == np.float64 and pe.shape == (3, 8)
    assert pe[1, 0] == pytest.approx(math.sin(1.0), abs=1e-15)
    assert pe[1, 1] == pytest.approx(math.cos(1.0), abs=1e-15)
    np.testing.assert_array_equal(pe[0], np.tile([0.0, 1.0], 4))  # position 0: sin 0, cos 0
    assert pe[2, 2] == pytest.approx(math.sin(2 / 10000 ** (2 / 8)), abs=1e-15)
    assert pe[2, 3] == pytest.approx(math.cos(2 / 10000 ** (2 / 8)), abs=1e-15)


def test_layout_is_interleaved_not_concatenated():
    pe = sinusoidal_pe(5, 8)
    positions = np.arange(5)
    np.testing.assert_allclose(pe[:, 1], np.cos(positions), atol=1e-15)  # column 1: cos at frequency 1
    assert not np.allclose(pe[:, 1], np.sin(positions / 10000 ** (2 / 8)))  # not the concatenated layout


def test_odd_d_model_ends_with_an_unpaired_sine():
    pe = sinusoidal_pe(4, 5)
    np.testing.assert_allclose(pe[:, 4], np.sin(np.arange(4) / 10000 ** (4 / 5)), atol=1e-15)


def test_custom_base():
    np.testing.assert_allclose(sinusoidal_pe(6, 4, base=100.0), paper_formula(6, 4, base=100.0), atol=1e-12)


@pytest.mark.parametrize("T, d_model, message", [(-1, 8, "T must be at least 0"), (3, 0, "d_model must be at least 1"),
                                                  (3.0, 8, "T must be an integer"), (3, True, "d_model must be an integer")])
def test_bad_arguments(T, d_model, message):
    with pytest.raises(ValueError, match=message):
        sinusoidal_pe(T, d_model)


def test_bad_base():
    with pytest.raises(ValueError, match="base"):
        sinusoidal_pe(3, 8, base=0.0)
