"""``SqlAuthStore``: users, API tokens, groups, model grants and model policies in SQL.

The contract is :class:`podium.store.base.AuthStore`. Names are looked up exactly (case-sensitive on
every backend). A missing user, group or model is ``RESOURCE_DOES_NOT_EXIST``; a duplicate user or
group name ``RESOURCE_ALREADY_EXISTS``. The permission lookups the server makes per request are one
statement each (:meth:`granted_permissions`, :meth:`get_policy`), and :meth:`find_token` reads a
token and its user in one join.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from podium.auth.entities import ApiToken, Group, ModelGrant, ModelPolicy, Permission, User
from podium.errors import ResourceAlreadyExists, ResourceDoesNotExist
from podium.store.sql.auth_tables import (group_members, groups, login_failures, model_grants, model_policies, tokens,
                                          users)
from podium.store.sql.engine import Database
from podium.store.sql.events import record_event
from podium.store.sql.tables import model_versions, registered_models

__all__ = ["SqlAuthStore"]

rm = registered_models


def now_ms() -> int:
    return int(time.time() * 1000)


def _user(row) -> User:
    return User(row.id, row.name, bool(row.is_admin), row.created_at, row.password_hash)


def _token(row, user_name: str) -> ApiToken:
    return ApiToken(row.id, user_name, row.prefix, row.name, row.created_at, row.expires_at, row.last_used_at,
                    row.revoked_at, row.token_hash)


def _user_not_found(name: str) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"User '{name}' not found")


def _group_not_found(name: str) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"Group '{name}' not found")


class SqlAuthStore:
    """Identity and permissions on a :class:`~podium.store.sql.engine.Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _id(conn, table, name: str, missing) -> int:
        found = conn.execute(select(table.c.id).where(table.c.name == name)).scalar()
        if found is None:
            raise missing(name)
        return found

    def _model_id(self, conn, name: str) -> int:
        found = conn.execute(select(rm.c.id).where(rm.c.name == name)).scalar()
        if found is None:
            raise ResourceDoesNotExist(f"Registered Model with name={name} not found")
        return found

    # ------------------------------------------------------------------ users
    def create_user(self, name: str, password_hash: str | None, is_admin: bool = False) -> User:
        try:
            with self.db.write() as conn:
                if conn.execute(select(users.c.id).where(users.c.name == name)).first():
                    raise ResourceAlreadyExists(f"User '{name}' already exists.")
                conn.execute(insert(users).values(name=name, password_hash=password_hash, is_admin=is_admin,
                                                  created_at=now_ms()))
                return _user(conn.execute(select(users).where(users.c.name == name)).one())
        except IntegrityError:
            raise ResourceAlreadyExists(f"User '{name}' already exists.") from None

    def get_user(self, name: str) -> User | None:
        with self.db.read() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
        return _user(row) if row else None

    def list_users(self) -> list[User]:
        with self.db.read() as conn:
            return [_user(r) for r in conn.execute(select(users).order_by(users.c.name))]

    def count_users(self) -> int:
        with self.db.read() as conn:
            return conn.execute(select(func.count()).select_from(users)).scalar_one()

    def update_user(self, name: str, *, password_hash: str | None = None, is_admin: bool | None = None) -> User:
        values = {}
        if password_hash is not None:
            values["password_hash"] = password_hash
        if is_admin is not None:
            values["is_admin"] = is_admin
        with self.db.write() as conn:
            user_id = self._id(conn, users, name, _user_not_found)
            if values:
                conn.execute(update(users).where(users.c.id == user_id).values(**values))
            return _user(conn.execute(select(users).where(users.c.id == user_id)).one())

    def delete_user(self, name: str) -> None:
        """Also deletes the user's tokens, group memberships and grants (cascade)."""
        with self.db.write() as conn:
            user_id = self._id(conn, users, name, _user_not_found)
            for table, column in ((tokens, tokens.c.user_id), (group_members, group_members.c.user_id),
                                  (model_grants, model_grants.c.user_id)):
                conn.execute(delete(table).where(column == user_id))
            conn.execute(delete(users).where(users.c.id == user_id))

    # ------------------------------------------------------------------ tokens
    def create_token(self, user: str, prefix: str, token_hash: str, name: str | None = None,
                     expires_at: int | None = None) -> ApiToken:
        with self.db.write() as conn:
            user_id = self._id(conn, users, user, _user_not_found)
            token_id = conn.execute(insert(tokens).values(
                user_id=user_id, name=name, prefix=prefix, token_hash=token_hash, created_at=now_ms(),
                expires_at=expires_at,
            )).inserted_primary_key[0]
            return _token(conn.execute(select(tokens).where(tokens.c.id == token_id)).one(), user)

    def find_token(self, prefix: str) -> tuple[ApiToken, User] | None:
        """The token with this prefix and its user (one query), or ``None``."""
        query = (select(tokens, users.c.name.label("user_name"), users.c.is_admin, users.c.created_at.label("user_created"))
                 .join(users, users.c.id == tokens.c.user_id).where(tokens.c.prefix == prefix))
        with self.db.read() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return _token(row, row.user_name), User(row.user_id, row.user_name, bool(row.is_admin), row.user_created)

    def list_tokens(self, user: str) -> list[ApiToken]:
        with self.db.read() as conn:
            user_id = self._id(conn, users, user, _user_not_found)
            rows = conn.execute(select(tokens).where(tokens.c.user_id == user_id).order_by(tokens.c.id)).all()
        return [_token(r, user) for r in rows]

    def get_token(self, token_id: int) -> ApiToken:
        query = select(tokens, users.c.name.label("user_name")).join(users, users.c.id == tokens.c.user_id)
        with self.db.read() as conn:
            row = conn.execute(query.where(tokens.c.id == token_id)).first()
        if row is None:
            raise ResourceDoesNotExist(f"Token {token_id} not found")
        return _token(row, row.user_name)

    def revoke_token(self, token_id: int) -> ApiToken:
        """Idempotent: revoking a revoked token keeps its first revocation time."""
        with self.db.write() as conn:
            conn.execute(update(tokens).where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
                         .values(revoked_at=now_ms()))
        return self.get_token(token_id)

    def touch_token(self, token_id: int, when: int) -> None:
        with self.db.write() as conn:
            conn.execute(update(tokens).where(tokens.c.id == token_id).values(last_used_at=when))

    # ------------------------------------------------------------------ failed sign-ins (the limiter)
    def login_failures(self, keys: Sequence[str], since_ms: int) -> dict[str, list[int]]:
        """The times (Unix ms, oldest first) of the failures of each of ``keys`` after ``since_ms``."""
        found: dict[str, list[int]] = {key: [] for key in keys}
        with self.db.read() as conn:
            rows = conn.execute(select(login_failures.c.key, login_failures.c.at)
                                .where(login_failures.c.key.in_(list(keys)), login_failures.c.at > since_ms)
                                .order_by(login_failures.c.at, login_failures.c.id))
            for key, at in rows:
                found[key].append(at)
        return found

    def add_login_failure(self, keys: Sequence[str], at_ms: int, expired_before_ms: int) -> list[int]:
        """Count one failure at ``at_ms`` for each of ``keys`` (their row ids), deleting every failure
        older than ``expired_before_ms`` on the way (so the table holds one window's failures)."""
        with self.db.write() as conn:
            conn.execute(delete(login_failures).where(login_failures.c.at < expired_before_ms))
            return [conn.execute(insert(login_failures).values(key=key, at=at_ms)).inserted_primary_key[0]
                    for key in keys]

    def remove_login_failures(self, ids: Sequence[int]) -> None:
        """Take back failures counted by :meth:`add_login_failure` (the attempt succeeded)."""
        if ids:
            with self.db.write() as conn:
                conn.execute(delete(login_failures).where(login_failures.c.id.in_(list(ids))))

    # ------------------------------------------------------------------ groups
    def create_group(self, name: str) -> Group:
        try:
            with self.db.write() as conn:
                if conn.execute(select(groups.c.id).where(groups.c.name == name)).first():
                    raise ResourceAlreadyExists(f"Group '{name}' already exists.")
                conn.execute(insert(groups).values(name=name, created_at=now_ms()))
        except IntegrityError:
            raise ResourceAlreadyExists(f"Group '{name}' already exists.") from None
        return Group(name)

    def delete_group(self, name: str) -> None:
        with self.db.write() as conn:
            group_id = self._id(conn, groups, name, _group_not_found)
            conn.execute(delete(group_members).where(group_members.c.group_id == group_id))
            conn.execute(delete(model_grants).where(model_grants.c.group_id == group_id))
            conn.execute(delete(groups).where(groups.c.id == group_id))

    def add_group_member(self, group: str, user: str) -> None:
        """Idempotent: adding a member twice is not an error."""
        with self.db.write() as conn:
            group_id = self._id(conn, groups, group, _group_not_found)
            user_id = self._id(conn, users, user, _user_not_found)
            gm = group_members
            if not conn.execute(select(gm.c.user_id).where(gm.c.group_id == group_id, gm.c.user_id == user_id)).first():
                conn.execute(insert(gm).values(group_id=group_id, user_id=user_id))

    def remove_group_member(self, group: str, user: str) -> None:
        with self.db.write() as conn:
            group_id = self._id(conn, groups, group, _group_not_found)
            user_id = self._id(conn, users, user, _user_not_found)
            gm = group_members
            conn.execute(delete(gm).where(gm.c.group_id == group_id, gm.c.user_id == user_id))

    def list_groups(self) -> list[Group]:
        query = (select(groups.c.name, users.c.name.label("member"))
                 .select_from(groups.outerjoin(group_members, group_members.c.group_id == groups.c.id)
                              .outerjoin(users, users.c.id == group_members.c.user_id))
                 .order_by(groups.c.name, users.c.name))
        members: dict[str, list[str]] = {}
        with self.db.read() as conn:
            for row in conn.execute(query):
                members.setdefault(row.name, [])
                if row.member is not None:
                    members[row.name].append(row.member)
        return [Group(name, tuple(names)) for name, names in members.items()]

    def groups_of(self, user_id: int) -> list[str]:
        query = (select(groups.c.name).join(group_members, group_members.c.group_id == groups.c.id)
                 .where(group_members.c.user_id == user_id).order_by(groups.c.name))
        with self.db.read() as conn:
            return list(conn.execute(query).scalars())

    # ------------------------------------------------------------------ grants
    def _principal(self, conn, principal_type: str, principal: str) -> dict:
        if principal_type == "user":
            return {"user_id": self._id(conn, users, principal, _user_not_found), "group_id": None}
        return {"user_id": None, "group_id": self._id(conn, groups, principal, _group_not_found)}

    def set_grant(self, model: str, principal_type: str, principal: str, permission: Permission) -> ModelGrant:
        """Create or replace the principal's grant on ``model``."""
        g = model_grants
        with self.db.write() as conn:
            model_id = self._model_id(conn, model)
            who = self._principal(conn, principal_type, principal)
            column = g.c.user_id if who["user_id"] is not None else g.c.group_id
            key = who["user_id"] if who["user_id"] is not None else who["group_id"]
            old = conn.execute(select(g.c.permission).where(g.c.model == model_id, column == key)).scalar()
            if old is None:
                conn.execute(insert(g).values(model=model_id, permission=permission.label, created_at=now_ms(), **who))
            elif old != permission.label:
                conn.execute(update(g).where(g.c.model == model_id, column == key).values(permission=permission.label))
            if old != permission.label:
                record_event(conn, "model_grant_set", model_id, model, target=f"{principal_type}:{principal}",
                             before=None if old is None else {"permission": old},
                             after={"permission": permission.label})
        return ModelGrant(model, principal_type, principal, permission)

    def delete_grant(self, model: str, principal_type: str, principal: str) -> None:
        """Idempotent: deleting a grant that is not there succeeds."""
        g = model_grants
        with self.db.write() as conn:
            model_id = self._model_id(conn, model)
            who = self._principal(conn, principal_type, principal)
            column = g.c.user_id if who["user_id"] is not None else g.c.group_id
            key = who["user_id"] if who["user_id"] is not None else who["group_id"]
            old = conn.execute(select(g.c.permission).where(g.c.model == model_id, column == key)).scalar()
            if old is not None:
                conn.execute(delete(g).where(g.c.model == model_id, column == key))
                record_event(conn, "model_grant_deleted", model_id, model, target=f"{principal_type}:{principal}",
                             before={"permission": old})

    def list_grants(self, model: str) -> list[ModelGrant]:
        g = model_grants
        query = (select(users.c.name.label("user_name"), groups.c.name.label("group_name"), g.c.permission)
                 .select_from(g.outerjoin(users, users.c.id == g.c.user_id).outerjoin(groups, groups.c.id == g.c.group_id)))
        with self.db.read() as conn:
            model_id = self._model_id(conn, model)
            rows = conn.execute(query.where(g.c.model == model_id)).all()
        out = [ModelGrant(model, "user" if r.user_name is not None else "group", r.user_name or r.group_name,
                          Permission.parse(r.permission)) for r in rows]
        return sorted(out, key=lambda x: (x.principal_type != "user", x.principal))

    @staticmethod
    def _principal_filter(user_id: int):
        g, gm = model_grants, group_members
        return or_(g.c.user_id == user_id,
                   g.c.group_id.in_(select(gm.c.group_id).where(gm.c.user_id == user_id)))

    def granted_permissions(self, model: str, user_id: int) -> list[Permission]:
        """Every permission on ``model`` granted to the user directly or through a group (one query)."""
        g = model_grants
        query = select(g.c.permission).join(rm, rm.c.id == g.c.model).where(rm.c.name == model,
                                                                               self._principal_filter(user_id))
        with self.db.read() as conn:
            return [Permission.parse(p) for p in conn.execute(query).scalars()]

    def granted_models(self, user_id: int) -> list[str]:
        """Names of the models with any grant for the user or one of the user's groups."""
        g = model_grants
        query = (select(rm.c.name).distinct().join(g, g.c.model == rm.c.id)
                 .where(self._principal_filter(user_id)).order_by(rm.c.name))
        with self.db.read() as conn:
            return list(conn.execute(query).scalars())

    # ------------------------------------------------------------------ policies
    def get_policy(self, model: str) -> ModelPolicy | None:
        """The model's policy; ``None`` if it has none (one query; a missing model is a 404)."""
        p = model_policies
        query = select(rm.c.id.label("model_id"), p).select_from(rm.outerjoin(p, p.c.model == rm.c.id))
        with self.db.read() as conn:
            row = conn.execute(query.where(rm.c.name == model)).first()
        if row is None:
            raise ResourceDoesNotExist(f"Registered Model with name={model} not found")
        if row.model is None:
            return None
        return _policy(model, row)

    def get_policies(self, models: Sequence[str]) -> dict[str, ModelPolicy]:
        """The policies of those of ``models`` that have one (one query per 500 names)."""
        p, names, out = model_policies, sorted(set(models)), {}
        with self.db.read() as conn:
            for start in range(0, len(names), 500):
                query = select(rm.c.name.label("model_name"), p).join(p, p.c.model == rm.c.id)
                for row in conn.execute(query.where(rm.c.name.in_(names[start:start + 500]))):
                    out[row.model_name] = _policy(row.model_name, row)
        return out

    def set_policy(self, policy: ModelPolicy) -> ModelPolicy:
        p = model_policies
        values = {"protected_stages": json.dumps(list(policy.protected_stages)),
                  "protected_aliases": json.dumps(list(policy.protected_aliases)),
                  "require_role": policy.require_role, "requires_approval": policy.requires_approval,
                  "required_approvals": policy.required_approvals,
                  "approvers": json.dumps(list(policy.approvers)) if policy.approvers else None,
                  "gates": json.dumps(list(policy.gates)) if policy.gates else None,
                  "updated_at": now_ms()}
        with self.db.write() as conn:
            model_id = self._model_id(conn, policy.name)
            old = conn.execute(select(p).where(p.c.model == model_id)).first()
            if old is None:
                conn.execute(insert(p).values(model=model_id, **values))
            else:
                conn.execute(update(p).where(p.c.model == model_id).values(**values))
            before = None if old is None else _policy(policy.name, old).to_dict()
            after = policy.to_dict()
            if before != after:
                record_event(conn, "model_policy_changed", model_id, policy.name,
                             before=None if before is None else {k: v for k, v in before.items() if k != "name"},
                             after={k: v for k, v in after.items() if k != "name"})
        return policy

    # ------------------------------------------------------------------ artifacts -> models
    def models_registered_from(self, *, run_id: str | None = None, model_id: str | None = None) -> list[str]:
        """Names of the registered models with a version registered from this run or logged model."""
        if not run_id and not model_id:
            return []
        mv = model_versions
        column, value = (mv.c.run_id, run_id) if run_id else (mv.c.model_id, model_id)
        query = select(rm.c.name).distinct().join(mv, mv.c.model == rm.c.id).where(column == value)
        with self.db.read() as conn:
            return list(conn.execute(query).scalars())



def _policy(name: str, row) -> ModelPolicy:
    """The policy of model ``name`` from its ``auth_model_policies`` row."""
    return ModelPolicy(name, tuple(json.loads(row.protected_stages)), tuple(json.loads(row.protected_aliases)),
                       row.require_role, bool(row.requires_approval), row.required_approvals or 1,
                       tuple(json.loads(row.approvers or "[]")), tuple(json.loads(row.gates or "[]")))
