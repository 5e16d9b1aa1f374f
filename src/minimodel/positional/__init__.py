"""Positional encodings (course Phase 16). See ``sinusoidal`` for the encoding of the original paper."""

from minimodel.positional.sinusoidal import sinusoidal_pe

__all__ = ["sinusoidal_pe"]
