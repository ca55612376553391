"""Use cases for model access: grants and policies (REST API, ``PodiumClient``, ``podium models``).

Storing grants and policies works with or without ``--auth``; the server enforces them only with
``--auth`` on (:mod:`podium.auth.authorizer`).
"""

from __future__ import annotations

from podium.auth.actor import current_actor
from podium.auth.entities import REQUIRE_ROLES, ModelGrant, ModelPolicy, Permission
from podium.auth.identity import validate_principal_name
from podium.domain import rules
from podium.errors import InvalidParameterValue
from podium.store.base import AuthStore

__all__ = ["AccessService"]


def _principal(user: str | None, group: str | None) -> tuple[str, str]:
    if bool(user) == bool(group):
        raise InvalidParameterValue("Give exactly one of 'user' and 'group'.")
    return ("user", validate_principal_name(user)) if user else ("group", validate_principal_name(group, "group"))


def _unique(items) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


class AccessService:
    def __init__(self, store: AuthStore) -> None:
        self.store = store

    # -- grants
    def get_model_grants(self, name: str) -> list[ModelGrant]:
        return self.store.list_grants(rules.validate_model_name(name))

    def set_model_grant(self, name: str, permission, user: str | None = None, group: str | None = None) -> ModelGrant:
        kind, principal = _principal(user, group)
        return self.store.set_grant(rules.validate_model_name(name), kind, principal, Permission.parse(permission))

    def delete_model_grant(self, name: str, user: str | None = None, group: str | None = None) -> None:
        kind, principal = _principal(user, group)
        self.store.delete_grant(rules.validate_model_name(name), kind, principal)

    def on_model_created(self, name: str) -> None:
        """The creator of a model gets ``manage`` on it (when an authenticated user created it)."""
        actor = current_actor()
        if actor.authenticated and actor.name:
            self.store.set_grant(name, "user", actor.name, Permission.MANAGE)

    def whoami(self) -> dict | None:
        """The current actor with its groups; ``None`` for an anonymous (unauthenticated) one."""
        actor = current_actor()
        if not actor.name:
            return None
        groups = self.store.groups_of(actor.user_id) if actor.user_id is not None else []
        return {"name": actor.name, "is_admin": actor.is_admin, "via": actor.via, "groups": groups}

    # -- policies
    def get_model_policy(self, name: str) -> ModelPolicy:
        """The model's policy (an empty one, protecting nothing, if none was set)."""
        name = rules.validate_model_name(name)
        return self.store.get_policy(name) or ModelPolicy(name)

    def set_model_policy(self, name: str, protected_stages=(), protected_aliases=(), require_role: str | None = None,
                         requires_approval: bool = False, required_approvals=None, approvers=(),
                         gates=()) -> ModelPolicy:
        """Replace the model's policy: these stages and aliases only ``require_role`` (``manage`` or
        ``admin``) may move, or, with ``requires_approval``, only an approved request with
        ``required_approvals`` approvals from ``approvers`` that passes ``gates``
        (:mod:`podium.domain.approvals` has the grammar of approvers and gates)."""
        from podium.domain.approvals import parse_approver, parse_gate

        if required_approvals is None:
            required_approvals = 1
        if isinstance(required_approvals, bool) or not isinstance(required_approvals, int) \
                or not 1 <= required_approvals <= 100:
            raise InvalidParameterValue(
                f"Invalid required_approvals {required_approvals!r}: expected a whole number from 1 to 100.")
        approver_list = _unique(parse_approver(a) for a in approvers or ())
        gate_list = _unique(parse_gate(g).text for g in gates or ())
        role = (require_role or "manage").strip().lower() if isinstance(require_role, (str, type(None))) else None
        if role not in REQUIRE_ROLES:
            raise InvalidParameterValue(
                f"Invalid require_role {require_role!r}: expected one of {', '.join(REQUIRE_ROLES)}.")
        if not isinstance(requires_approval, bool):
            raise InvalidParameterValue("'requires_approval' must be true or false.")
        stages = _unique(rules.canonical_stage(s) for s in protected_stages or ())
        aliases = _unique(rules.validate_alias_name(a) for a in protected_aliases or ())
        policy = ModelPolicy(rules.validate_model_name(name), stages, aliases, role, requires_approval,
                             required_approvals, approver_list, gate_list)
        return self.store.set_policy(policy)
