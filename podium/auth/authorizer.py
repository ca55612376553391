"""Authorization: the one place that decides whether an actor may do something.

The rules (``docs/security.md`` has the table):

* **Admins** may do everything (but see *approval*, below).
* **Registry-wide role**: every authenticated user has the server's default role (``--default-role``:
  ``none``, ``read`` or ``edit``). It governs what has no per-model grant: tracking (experiments,
  runs, logged models, artifacts: read needs ``read``, changes need ``edit``), creating registered
  models (``edit``), and models on which the user holds no grant.
* **Model permission** of a user on a model: the highest grant on that model to the user or to any
  of the user's groups; with no such grant, the default role. (So a grant can also *lower* a user
  below the default on one model.) ``read`` < ``edit`` < ``manage``. The creator of a model gets
  ``manage`` on it.
* **Protected targets**: a model's policy names stages and aliases that only ``require_role``
  (``manage`` on the model, or ``admin``) may move; with ``requires_approval`` nobody moves them
  directly, admins included: only an approved request (``podium models request ...``) can (and an
  admin's rollback, ``Need.break_glass``: the incident path, recorded on the ``rollback`` event).
  *Moving* covers setting or deleting the alias, transitioning a version into or out of the stage,
  and deleting a version (or the model) that holds it.

:meth:`Authorizer.check` takes a :class:`Need` (what an operation requires; the server derives it
per route in :mod:`podium.server.permissions`) and returns, or raises
:class:`~podium.errors.PermissionDenied` with a message saying what is needed and what the actor has.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from podium.auth.actor import Actor
from podium.auth.entities import ADMIN, Permission
from podium.errors import PermissionDenied

if TYPE_CHECKING:
    from podium.store.base import AuthStore

__all__ = ["Authorizer", "Need", "Target"]

READ, EDIT, MANAGE = Permission.READ, Permission.EDIT, Permission.MANAGE


@dataclass(frozen=True)
class Target:
    """A stage or alias an operation moves. ``version``: the version it moves to/from, if known."""

    kind: str  # "stage" | "alias"
    name: str
    version: str | None = None


@dataclass(frozen=True)
class Need:
    """What one operation requires.

    ``kind``: ``authenticated`` (any user), ``registry`` (the registry-wide role at least
    ``permission``), ``model`` (``permission`` on ``model``, then the ``targets`` policy; with
    ``guards_policy`` also admin if the current policy requires admin or approval; with
    ``new_name``, a rename, also the right to claim that name), ``create_model`` (registry-wide
    ``edit`` unless ``model`` already exists and the actor can read it), ``search_models`` (results
    restricted to readable models), ``artifact_read`` (``path`` of the artifact proxy; or, with
    ``run_id`` / ``logged_model_id``, that run's or logged model's files) or ``admin_only``.
    ``action`` words the refusal: "<action> model 'wine' needs ...".
    """

    kind: str
    permission: Permission = READ
    action: str = ""
    model: str | None = None
    targets: tuple[Target, ...] = ()
    path: str | None = None
    guards_policy: bool = False
    #: a rollback: an admin may move a target whose policy requires approval (break-glass, recorded)
    break_glass: bool = False
    #: a rename's new name (claiming it must not tell whether a model the actor cannot see holds it)
    new_name: str | None = None
    #: ``artifact_read`` of a whole run's or logged model's files (registering a version from them)
    run_id: str | None = None
    logged_model_id: str | None = None


class Authorizer:
    """Decisions over an :class:`~podium.store.base.AuthStore`; ``model_exists(name)`` answers
    whether a registered model exists (for ``create_model``)."""

    def __init__(self, store: AuthStore, default_role: Permission,
                 model_exists: Callable[[str], bool] | None = None) -> None:
        self.store = store
        self.default_role = default_role
        self._model_exists = model_exists or (lambda name: False)

    # ------------------------------------------------------------------ what an actor has
    def registry_role(self, actor: Actor) -> Permission:
        return MANAGE if actor.is_admin else self.default_role

    def model_permission(self, actor: Actor, model: str) -> Permission:
        if actor.is_admin:
            return MANAGE
        granted = self.store.granted_permissions(model, actor.user_id) if actor.user_id is not None else []
        return max(granted) if granted else self.default_role

    def readable_models(self, actor: Actor) -> list[str] | None:
        """Models ``actor`` may read: ``None`` means all of them (no filtering needed)."""
        if actor.is_admin or self.default_role >= READ:
            return None  # every grant is at least read, so nothing falls below the default
        return self.store.granted_models(actor.user_id) if actor.user_id is not None else []

    # ------------------------------------------------------------------ the decision
    def check(self, actor: Actor, need: Need) -> None:
        """Return if ``actor`` may do what ``need`` describes; raise ``PermissionDenied`` otherwise."""
        if need.kind in ("authenticated", "search_models"):
            return
        if need.kind == "registry":
            self._registry(actor, need.permission, need.action)
        elif need.kind == "create_model":
            if not self._visible(actor, need.model):  # visible: the store answers "already exists"
                self._registry(actor, EDIT, need.action or "creating a registered model")
        elif need.kind == "model":
            have = self.model_permission(actor, need.model)
            if have < need.permission:
                raise PermissionDenied(
                    f"{need.action} model '{need.model}' needs {need.permission.label} on '{need.model}' or admin; "
                    f"you ({actor.display}) have {have.label}")
            if need.targets:
                self._protected(actor, need.model, have, need.targets, need.break_glass)
            if need.guards_policy and not actor.is_admin:
                self._policy_change(actor, need.model, have)
            if need.new_name and self.readable_models(actor) is not None and not self._visible(actor, need.new_name):
                # a free name and one held by a model the actor cannot see must be refused alike
                self._registry(actor, EDIT, f"{need.action} model '{need.model}' (claiming a new name, as creating "
                                            "a model does)")
        elif need.kind == "artifact_read":
            self._artifact_read(actor, need)
        elif not actor.is_admin:  # "admin_only": a route without a rule of its own
            raise PermissionDenied(f"{need.action or 'this call'} needs admin; you ({actor.display}) are not one")

    def _policy_change(self, actor: Actor, model: str, have: Permission) -> None:
        """A policy that binds managers (admin only, or approval) can only be changed by an admin."""
        policy = self.store.get_policy(model)
        if policy is not None and (policy.require_role == ADMIN or policy.requires_approval):
            raise PermissionDenied(
                f"changing the policy of model '{model}' needs admin while it requires "
                f"{'approval' if policy.requires_approval else 'admin'}; you ({actor.display}) have {have.label}")

    def _registry(self, actor: Actor, permission: Permission, action: str) -> None:
        have = self.registry_role(actor)
        if have < permission:
            raise PermissionDenied(
                f"{action} needs the registry-wide role {permission.label} or admin; you ({actor.display}) have "
                f"{have.label} (the server's --default-role)")

    def _protected(self, actor: Actor, model: str, have: Permission, targets, break_glass: bool = False) -> None:
        policy = self.store.get_policy(model)
        if policy is None:
            return
        for target in targets:
            if not policy.protects(target.kind, target.name):
                continue
            what = f"moving '{target.name}' of model '{model}'"
            if policy.requires_approval:
                if break_glass and actor.is_admin:
                    continue  # an admin's rollback: break-glass, recorded as such in the audit history
                flag = "--stage" if target.kind == "stage" else "--alias"
                command = f"podium models request {shlex.quote(model)} {target.version or 'VERSION'} {flag} {target.name}"
                raise PermissionDenied(
                    f"{what} needs an approved request: the model's policy refuses direct changes"
                    f"{' (only an admin may roll back directly)' if break_glass else ''}. "
                    f"Ask for one with: {command}")
            if policy.require_role == ADMIN and not actor.is_admin:
                raise PermissionDenied(f"{what} needs admin; you ({actor.display}) have {have.label} on '{model}'")
            if have < MANAGE:
                raise PermissionDenied(f"{what} needs manage on '{model}' or admin; you ({actor.display}) have {have.label}")

    def _visible(self, actor: Actor, model: str | None) -> bool:
        """Does ``model`` exist for ``actor``: it exists and the actor may read it?"""
        return bool(model) and self._model_exists(model) and self.model_permission(actor, model) >= READ

    def _artifact_read(self, actor: Actor, need: Need) -> None:
        """The artifact proxy's read rule, also for registering a version from a run or logged model:
        the registry-wide role ``read``, or ``read`` on a model registered from the run or logged model."""
        if self.registry_role(actor) >= READ:
            return
        if need.run_id or need.logged_model_id:
            models = self.store.models_registered_from(run_id=need.run_id, model_id=need.logged_model_id)
            what = f"run '{need.run_id}'" if need.run_id else f"logged model '{need.logged_model_id}'"
        else:
            models, what = self._models_of_artifact(need.path or ""), "them"
        if any(self.model_permission(actor, model) >= READ for model in models):
            return
        raise PermissionDenied(
            f"{need.action or 'reading artifacts'} needs the registry-wide role read or admin, or read on a model "
            f"registered from {what}; you ({actor.display}) have {self.default_role.label}")

    def _models_of_artifact(self, path: str) -> list[str]:
        """Models with a version registered from the run or logged model that ``path`` lies in:
        ``<experiment>/<run_id>/artifacts/...`` or ``<experiment>/models/<model_id>/artifacts/...``,
        judged on the path the store will read (``a/../b`` is ``b``: dot segments may arrive encoded)."""
        parts = [p for p in posixpath.normpath("/" + path).split("/") if p]
        if len(parts) >= 4 and parts[1] == "models" and parts[3] == "artifacts":
            return self.store.models_registered_from(model_id=parts[2])
        if len(parts) >= 3 and parts[2] == "artifacts":
            return self.store.models_registered_from(run_id=parts[1])
        return []
