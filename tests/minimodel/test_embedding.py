"""Embedding: shapes, dtype, seeding, and errors that name the bad id."""

import numpy as np
import pytest

from minimodel import Embedding


def test_unbatched_and_batched_shapes_are_float64():
    emb = Embedding(vocab_size=10, d_model=8, seed=0)
    assert emb([1, 2, 3]).shape == (3, 8)
    assert emb.forward(np.array([[1, 2], [3, 4]])).shape == (2, 2, 8)
    assert emb([1]).dtype == np.float64


def test_rows_are_the_table_rows_of_the_ids():
    emb = Embedding(vocab_size=10, d_model=4, seed=3)
    np.testing.assert_array_equal(emb([7, 2, 7]), emb.weight[[7, 2, 7]])


def test_same_seed_same_table_different_seed_different_table():
    a, b, c = Embedding(10, 4, seed=0), Embedding(10, 4, seed=0), Embedding(10, 4, seed=1)
    np.testing.assert_array_equal(a.weight, b.weight)
    assert not np.allclose(a.weight, c.weight)


def test_table_is_standard_normal_from_default_rng():
    emb = Embedding(vocab_size=5, d_model=3, seed=42)
    np.testing.assert_array_equal(emb.weight, np.random.default_rng(42).standard_normal((5, 3)))


@pytest.mark.parametrize("bad_id", [10, -1, 999])
def test_out_of_range_id_names_the_id_and_vocab_size(bad_id):
    with pytest.raises(IndexError, match=rf"token id {bad_id} .*vocab_size 10"):
        Embedding(10, 4)([0, bad_id])


@pytest.mark.parametrize("ids, named", [([1, 2.5], "2.5"), ([True, False], "True"), (["a"], "'a'")])
def test_non_integer_id_is_named_with_the_vocab_size(ids, named):
    with pytest.raises(TypeError, match=rf"vocab_size 10\).*{named}"):
        Embedding(10, 4)(ids)


def test_three_dimensional_ids_are_rejected():
    with pytest.raises(ValueError, match=r"\(T,\) or \(B, T\)"):
        Embedding(10, 4)(np.zeros((1, 1, 1), dtype=int))


@pytest.mark.parametrize("vocab_size, d_model", [(0, 4), (10, 0), (10, 2.0)])
def test_bad_sizes_are_rejected(vocab_size, d_model):
    with pytest.raises(ValueError, match="positive integer"):
        Embedding(vocab_size, d_model)
