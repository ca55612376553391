"""Webhook secrets encrypted at rest with Fernet (``cryptography``: AES-128-CBC + HMAC-SHA256).

The key is a Fernet key in a file (``--webhook-secret-key-file``; by default ``webhook-secret.key``
beside the SQLite database, else ``./podium-data/``), created with mode 0600 the first time a secret
is stored. Every process that stores or sends secrets on one database must use the same key file:
a secret that does not decrypt is reported on the delivery (``last_error``) and retried, never sent
unsigned.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from podium.errors import InvalidState

__all__ = ["SecretBox"]


class SecretBox:
    """Encrypts and decrypts webhook secrets with the key in ``key_file`` (created on first use)."""

    def __init__(self, key_file: str) -> None:
        self.key_file = Path(key_file)
        self._fernet = None
        self._lock = threading.Lock()

    def _key(self, create: bool):
        with self._lock:
            if self._fernet is None:
                from cryptography.fernet import Fernet

                if not self.key_file.exists():
                    if not create:
                        raise InvalidState(f"The webhook secret key file {self.key_file} does not exist; it must be "
                                           "the key file the secret was stored with (--webhook-secret-key-file).")
                    self._create(Fernet.generate_key())
                self._fernet = Fernet(self.key_file.read_bytes().strip())
            return self._fernet

    def _create(self, key: bytes) -> None:
        self.key_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return  # another process made it first: use theirs
        with os.fdopen(fd, "wb") as f:
            f.write(key + b"\n")

    def encrypt(self, secret: str) -> str:
        return self._key(create=True).encrypt(secret.encode()).decode()

    def decrypt(self, token: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._key(create=False).decrypt(token.encode()).decode()
        except InvalidToken:
            raise InvalidState(f"The webhook's secret does not decrypt with the key in {self.key_file}: every "
                               "server on this database needs the same --webhook-secret-key-file.") from None
