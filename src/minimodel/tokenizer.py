"""Word-level tokenizer (course Phase 14).

Maps whitespace-separated, case-sensitive words to integer ids and back.

    >>> tok = default_tokenizer()
    >>> ids = tok.encode("he work I")
    >>> tok.decode(ids)
    'he work I'

What it does:
- builds a vocabulary from a corpus: the special tokens first (``<pad>`` = 0, ``<unk>`` = 1), then
  every word, most frequent first, ties broken alphabetically, so ids are the same on every run
  and every machine;
- encodes unknown words as ``<unk>``;
- saves to and loads from a small JSON file.

What it deliberately leaves out: no lower-casing, no splitting of punctuation or sub-words
(``"works."`` is one word, unknown to the default vocabulary), and ``decode`` joins words with
single spaces, so runs of white space are not restored.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
SPECIAL_TOKENS = (PAD_TOKEN, UNK_TOKEN)
_FORMAT = "minimodel.WordTokenizer/1"


# -----------------------------------------------------------------------------
# helpers


def split_words(text: str) -> list[str]:
    """The words of ``text``: maximal runs of non-white-space characters."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}: {text!r}")
    return text.split()


def vocabulary_from_corpus(lines: Iterable[str]) -> list[str]:
    """Special tokens, then every word of ``lines`` by descending count, ties alphabetical."""
    counts = Counter(word for line in lines for word in split_words(line))
    for special in SPECIAL_TOKENS:
        counts.pop(special, None)
    words = sorted(counts, key=lambda word: (-counts[word], word))
    return [*SPECIAL_TOKENS, *words]


# -----------------------------------------------------------------------------
# the tokenizer


class WordTokenizer:
    """A fixed vocabulary of words; ``encode`` maps text to ids and ``decode`` maps ids to text."""

    def __init__(self, vocabulary: Sequence[str]):
        vocabulary = list(vocabulary)
        if vocabulary[: len(SPECIAL_TOKENS)] != list(SPECIAL_TOKENS):
            raise ValueError(
                f"a vocabulary must start with the special tokens {list(SPECIAL_TOKENS)}, "
                f"got {vocabulary[: len(SPECIAL_TOKENS)]}; build one with WordTokenizer.from_corpus"
            )
        duplicates = sorted(word for word, n in Counter(vocabulary).items() if n > 1)
        if duplicates:
            raise ValueError(f"a vocabulary lists each word once; repeated: {duplicates}")
        bad = [word for word in vocabulary if not isinstance(word, str) or not word or word.split() != [word]]
        if bad:
            raise ValueError(f"vocabulary entries must be non-empty words without white space, got {bad!r}")
        self._id_to_word = vocabulary
        self._word_to_id = {word: index for index, word in enumerate(vocabulary)}

    @classmethod
    def from_corpus(cls, lines: Iterable[str]) -> WordTokenizer:
        """A tokenizer whose vocabulary is every word of ``lines`` (see ``vocabulary_from_corpus``)."""
        return cls(vocabulary_from_corpus(lines))

    @property
    def vocab_size(self) -> int:
        return len(self._id_to_word)

    @property
    def pad_id(self) -> int:
        return self._word_to_id[PAD_TOKEN]

    @property
    def unk_id(self) -> int:
        return self._word_to_id[UNK_TOKEN]

    @property
    def vocabulary(self) -> list[str]:
        """The words in id order (a copy)."""
        return list(self._id_to_word)

    def encode(self, text: str) -> list[int]:
        """The id of each word of ``text``; words outside the vocabulary get ``unk_id``."""
        return [self._word_to_id.get(word, self.unk_id) for word in split_words(text)]

    def decode(self, ids: Iterable[int]) -> str:
        """The words of ``ids`` joined by single spaces."""
        words = []
        for position, token_id in enumerate(ids):
            if isinstance(token_id, bool) or not hasattr(token_id, "__index__"):
                raise TypeError(f"token id at position {position} must be an integer, got {token_id!r}")
            index = token_id.__index__()
            if not 0 <= index < self.vocab_size:
                raise IndexError(
                    f"token id {index} at position {position} is outside the vocabulary "
                    f"(vocab_size {self.vocab_size}: valid ids are 0..{self.vocab_size - 1})"
                )
            words.append(self._id_to_word[index])
        return " ".join(words)

    def save(self, path: str | Path) -> None:
        """Write the vocabulary as JSON; ``WordTokenizer.load(path)`` reads it back."""
        payload = {"format": _FORMAT, "vocabulary": self._id_to_word}
        Path(path).write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> WordTokenizer:
        """Read a tokenizer written by ``save``."""
        try:
            payload = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not a tokenizer file: invalid JSON ({error})") from error
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise ValueError(f"{path} is not a tokenizer file: expected \"format\": \"{_FORMAT}\"")
        return cls(payload["vocabulary"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WordTokenizer) and self._id_to_word == other._id_to_word

    def __repr__(self) -> str:
        return f"WordTokenizer(vocab_size={self.vocab_size})"


def default_corpus() -> list[str]:
    """The lines of the corpus shipped with minimodel (pronouns, verbs and their agreement)."""
    text = resources.files("minimodel").joinpath("data/corpus.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


def default_tokenizer() -> WordTokenizer:
    """The course's tokenizer: the vocabulary of ``default_corpus()``."""
    return WordTokenizer.from_corpus(default_corpus())
