"""minimodel: a small, readable numpy implementation of a transformer's building blocks.

The pieces the course's labs stand on:

- ``minimodel.tokenizer``  (Phase 14): ``WordTokenizer``, ``default_tokenizer()``
- ``minimodel.embedding``  (Phase 13): ``Embedding``
- ``minimodel.attention``  (Phase 15): ``MultiHeadAttention``, numerically equal to PyTorch's
- ``minimodel.positional`` (Phase 16): ``sinusoidal_pe``

Everything is float64 numpy and seeded: the same seed gives the same weights on every machine.
numpy is the only dependency; the library never imports the course tooling.
"""

from minimodel.attention import MultiHeadAttention
from minimodel.embedding import Embedding
from minimodel.positional import sinusoidal_pe
from minimodel.tokenizer import WordTokenizer, default_tokenizer

__version__ = "0.1.0"

__all__ = ["Embedding", "MultiHeadAttention", "WordTokenizer", "default_tokenizer", "sinusoidal_pe", "__version__"]
