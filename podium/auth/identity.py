"""Use cases for accounts: users, groups and API tokens (``podium users|groups|tokens``, bootstrap).

Names of users and groups: 1-250 characters, letters, digits and ``. _ @ + -``, starting with a
letter or digit (no ``:``, which HTTP Basic uses as its separator). Passwords: at least
:data:`~podium.auth.passwords.MIN_PASSWORD_LENGTH` characters, stored as scrypt hashes. A token is
returned once by :meth:`IdentityService.create_token` and never again.
"""

from __future__ import annotations

import re
import time

from podium.auth import passwords, tokens
from podium.auth.entities import ApiToken, Group, User
from podium.errors import InvalidParameterValue
from podium.store.base import AuthStore

__all__ = ["IdentityService", "validate_principal_name"]

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+\-]{0,249}")
MAX_TOKEN_DAYS = 3650


def validate_principal_name(name, kind: str = "user") -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidParameterValue(
            f"Invalid {kind} name {name!r}: use 1-250 letters, digits and . _ @ + - (starting with a letter or digit).")
    return name


def _checked_password(password) -> str:
    if not isinstance(password, str) or len(password) < passwords.MIN_PASSWORD_LENGTH:
        raise InvalidParameterValue(f"A password needs at least {passwords.MIN_PASSWORD_LENGTH} characters.")
    return password


class IdentityService:
    def __init__(self, store: AuthStore) -> None:
        self.store = store

    # -- users
    def create_user(self, name: str, password: str | None = None, is_admin: bool = False) -> User:
        """A new user; without a password the account can only use API tokens."""
        validate_principal_name(name)
        hashed = passwords.hash_password(_checked_password(password)) if password is not None else None
        return self.store.create_user(name, hashed, bool(is_admin))

    def set_password(self, name: str, password: str) -> User:
        return self.store.update_user(validate_principal_name(name),
                                      password_hash=passwords.hash_password(_checked_password(password)))

    def set_admin(self, name: str, is_admin: bool) -> User:
        return self.store.update_user(validate_principal_name(name), is_admin=bool(is_admin))

    def delete_user(self, name: str) -> None:
        self.store.delete_user(validate_principal_name(name))

    def list_users(self) -> list[User]:
        return self.store.list_users()

    def bootstrap_admin(self, password: str, name: str = "admin") -> User | None:
        """Create admin ``name`` if the database has no user yet (``PODIUM_ADMIN_PASSWORD``); else ``None``."""
        if self.store.count_users():
            return None
        return self.create_user(name, password, is_admin=True)

    # -- groups
    def create_group(self, name: str) -> Group:
        return self.store.create_group(validate_principal_name(name, "group"))

    def delete_group(self, name: str) -> None:
        self.store.delete_group(validate_principal_name(name, "group"))

    def add_group_member(self, group: str, user: str) -> None:
        self.store.add_group_member(validate_principal_name(group, "group"), validate_principal_name(user))

    def remove_group_member(self, group: str, user: str) -> None:
        self.store.remove_group_member(validate_principal_name(group, "group"), validate_principal_name(user))

    def list_groups(self) -> list[Group]:
        return self.store.list_groups()

    # -- tokens
    def create_token(self, user: str, name: str | None = None, expires_in_days: float | None = None) -> tuple[str, ApiToken]:
        """``(token, record)``: the token is shown to the caller once and stored only as a hash."""
        validate_principal_name(user)
        expires_at = None
        if expires_in_days is not None:
            if not 0 < expires_in_days <= MAX_TOKEN_DAYS:
                raise InvalidParameterValue(f"--expires-in must be between 1 and {MAX_TOKEN_DAYS} days.")
            expires_at = int(time.time() * 1000 + expires_in_days * 86_400_000)
        if name is not None and len(name) > 250:
            raise InvalidParameterValue("A token name may be at most 250 characters long.")
        secret, prefix, digest = tokens.new_token()
        return secret, self.store.create_token(user, prefix, digest, name, expires_at)

    def list_tokens(self, user: str) -> list[ApiToken]:
        return self.store.list_tokens(validate_principal_name(user))

    def revoke_token(self, token_id: int) -> ApiToken:
        return self.store.revoke_token(int(token_id))
