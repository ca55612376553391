"""Artifact stores: the contract (``base``) and implementations (``local``; object stores later).

Which store serves which URI is decided by the composition root (``podium.backends``).
"""

from podium.store.artifacts.base import ArtifactStore, clean_relative_path

__all__ = ["ArtifactStore", "clean_relative_path"]
