"""WordTokenizer: the lab's three words, determinism, unknown words, save/load round trip."""

import json
import os
import subprocess
import sys

import pytest

from minimodel.tokenizer import UNK_TOKEN, WordTokenizer, default_corpus, default_tokenizer, vocabulary_from_corpus


def test_lab_sentence_gives_three_distinct_known_ids_and_round_trips():
    tok = default_tokenizer()
    ids = tok.encode("he work I")
    assert len(ids) == 3 and len(set(ids)) == 3
    assert tok.unk_id not in ids
    assert tok.decode(ids) == "he work I"


def test_corpus_is_a_few_hundred_sentences_of_pronouns_and_agreeing_verbs():
    lines = default_corpus()
    assert 200 <= len(lines) <= 1000
    assert "he works" in lines and "I work" in lines and "they work" in lines
    assert "he work" not in lines  # the disagreeing form is left for later labs to reject


def test_ids_are_the_same_in_a_fresh_interpreter():
    code = "from minimodel import default_tokenizer; print(default_tokenizer().vocabulary)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "12345"}).stdout
    assert out.strip() == str(default_tokenizer().vocabulary)


def test_vocabulary_orders_by_count_then_alphabetically_after_special_tokens():
    vocab = vocabulary_from_corpus(["b a", "c a", "b a", "d"])
    assert vocab == ["<pad>", "<unk>", "a", "b", "c", "d"]


def test_unknown_words_become_unk():
    tok = default_tokenizer()
    ids = tok.encode("he zebras")
    assert ids[1] == tok.unk_id
    assert tok.decode(ids) == f"he {UNK_TOKEN}"


def test_save_and_load_round_trip(tmp_path):
    tok = default_tokenizer()
    path = tmp_path / "tok.json"
    tok.save(path)
    loaded = WordTokenizer.load(path)
    assert loaded == tok
    assert loaded.encode("they work hard") == tok.encode("they work hard")
    assert json.loads(path.read_text())["vocabulary"][:2] == ["<pad>", "<unk>"]


def test_load_rejects_a_file_that_is_not_a_tokenizer(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"hello": 1}')
    with pytest.raises(ValueError, match="not a tokenizer file"):
        WordTokenizer.load(path)


@pytest.mark.parametrize("bad_id", [-1, 60_000])
def test_decode_names_an_out_of_range_id(bad_id):
    tok = default_tokenizer()
    with pytest.raises(IndexError, match=f"token id {bad_id} .*vocab_size {tok.vocab_size}"):
        tok.decode([1, bad_id])


def test_decode_rejects_non_integer_ids():
    with pytest.raises(TypeError, match="2.5"):
        default_tokenizer().decode([1, 2.5])


def test_vocabulary_must_start_with_special_tokens():
    with pytest.raises(ValueError, match="special tokens"):
        WordTokenizer(["a", "b"])
