"""Editions: what students receive besides nbgrader's release: the lab in other languages (``edition``) and,
once it may be published, the reference solution (``solution``)."""
