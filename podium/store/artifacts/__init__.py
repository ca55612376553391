"""Artifact stores: the contract (``base``) and implementations (``local``, ``s3``).

Which store serves which URI is decided by the composition root (``podium.compose``).
"""

from podium.store.artifacts.base import ArtifactStore, PresignedTransfers, clean_relative_path

__all__ = ["ArtifactStore", "PresignedTransfers", "clean_relative_path"]
