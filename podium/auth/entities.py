"""Identity and permission entities: permissions, users, tokens, groups, grants, policies.

A :class:`Permission` is ordered: ``none < read < edit < manage``. Grants give one of ``read``,
``edit``, ``manage`` on one registered model to a user or a group. A :class:`ModelPolicy` names a
model's *protected targets* (stages and aliases) and who may move them. Standard library only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from podium.errors import InvalidParameterValue

__all__ = ["ADMIN", "REQUIRE_ROLES", "ApiToken", "Group", "ModelGrant", "ModelPolicy", "Permission", "User"]

#: the registry-wide role above every model permission
ADMIN = "admin"
#: who may move a protected target: holders of manage on the model (and admins), or admins only
REQUIRE_ROLES = ("manage", ADMIN)


class Permission(enum.IntEnum):
    """What a principal may do with a registered model; each level includes the ones below."""

    NONE = 0
    READ = 1
    EDIT = 2
    MANAGE = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value, *, param: str = "permission", allowed: tuple[str, ...] = ("read", "edit", "manage")):
        """``"edit"`` (any case) -> ``Permission.EDIT``; anything outside ``allowed`` is a 400."""
        if isinstance(value, Permission) and value.label in allowed:
            return value
        text = str(value or "").strip().lower()
        if text not in allowed:
            raise InvalidParameterValue(
                f"Invalid {param} {value!r}: expected one of {', '.join(allowed)}.")
        return cls[text.upper()]


@dataclass(frozen=True)
class User:
    """An account. ``password_hash`` never leaves the server (not in :meth:`to_dict`)."""

    id: int
    name: str
    is_admin: bool = False
    created_at: int = 0
    password_hash: str | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {"name": self.name, "is_admin": self.is_admin, "created_at": self.created_at,
                "has_password": self.password_hash is not None}


@dataclass(frozen=True)
class ApiToken:
    """An API token's record. The secret itself is shown once, at creation, and never stored."""

    id: int
    user: str
    prefix: str
    name: str | None = None
    created_at: int = 0
    expires_at: int | None = None
    last_used_at: int | None = None
    revoked_at: int | None = None
    token_hash: str = field(default="", repr=False)

    def state(self, now_ms: int) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now_ms:
            return "expired"
        return "active"

    def to_dict(self, now_ms: int) -> dict:
        return {"id": self.id, "user": self.user, "name": self.name, "prefix": self.prefix,
                "created_at": self.created_at, "expires_at": self.expires_at, "last_used_at": self.last_used_at,
                "revoked_at": self.revoked_at, "state": self.state(now_ms)}


@dataclass(frozen=True)
class Group:
    name: str
    members: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"name": self.name, "members": list(self.members)}


@dataclass(frozen=True)
class ModelGrant:
    """``permission`` on registered model ``name`` for a user or a group (``principal_type``)."""

    name: str
    principal_type: str  # "user" | "group"
    principal: str
    permission: Permission

    def to_dict(self) -> dict:
        return {"name": self.name, "principal_type": self.principal_type, "principal": self.principal,
                "permission": self.permission.label}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelGrant":
        return cls(d["name"], d["principal_type"], d["principal"], Permission.parse(d["permission"]))


@dataclass(frozen=True)
class ModelPolicy:
    """Protected targets of one model: stages and aliases only ``require_role`` may move, or (with
    ``requires_approval``) only an approved request may move."""

    name: str
    protected_stages: tuple[str, ...] = ()
    protected_aliases: tuple[str, ...] = ()
    require_role: str = "manage"
    requires_approval: bool = False
    #: approvals a request needs before it is applied (``requires_approval`` only)
    required_approvals: int = 1
    #: who may approve: ``user:NAME``, ``group:NAME``, ``role:manage``, ``role:admin``; empty means
    #: ``role:manage`` (manage on the model, or admin). Admins may always approve.
    approvers: tuple[str, ...] = ()
    #: checks a request must pass at creation and at the last approval (:mod:`podium.domain.approvals`)
    gates: tuple[str, ...] = ()

    def protects(self, kind: str, target: str) -> bool:
        if kind == "stage":
            return target in self.protected_stages
        return target in self.protected_aliases

    def to_dict(self) -> dict:
        return {"name": self.name, "protected_stages": list(self.protected_stages),
                "protected_aliases": list(self.protected_aliases), "require_role": self.require_role,
                "requires_approval": self.requires_approval, "required_approvals": self.required_approvals,
                "approvers": list(self.approvers), "gates": list(self.gates)}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelPolicy":
        return cls(d["name"], tuple(d.get("protected_stages") or ()), tuple(d.get("protected_aliases") or ()),
                   d.get("require_role") or "manage", bool(d.get("requires_approval")),
                   int(d.get("required_approvals") or 1), tuple(d.get("approvers") or ()), tuple(d.get("gates") or ()))
