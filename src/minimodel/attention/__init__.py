"""Attention layers (course Phase 15). See ``multi_head`` for the layer and its conventions."""

from minimodel.attention.multi_head import PARAMETER_NAMES, MultiHeadAttention, masked_softmax

__all__ = ["MultiHeadAttention", "PARAMETER_NAMES", "masked_softmax"]
