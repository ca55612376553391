"""The identity store on every backend: users, token lifecycle, groups, grants, policies, and the
authenticator and authorizer working on it (SQLite, and PostgreSQL/MySQL when their URLs are set)."""

from __future__ import annotations

import base64

import pytest

from podium.auth.actor import Actor
from podium.auth.authenticator import Authenticator, TOUCH_INTERVAL_MS
from podium.auth.authorizer import Authorizer, Need, Target
from podium.auth.entities import ModelPolicy, Permission
from podium.auth.identity import IdentityService
from podium.errors import InvalidParameterValue, PermissionDenied, ResourceAlreadyExists, ResourceDoesNotExist, Unauthenticated
from podium.store.sql.auth import SqlAuthStore

pytestmark = pytest.mark.all_backends  # a store test (its SQL differs by backend) that lives with the auth package

READ, EDIT, MANAGE = Permission.READ, Permission.EDIT, Permission.MANAGE


@pytest.fixture
def store(backend) -> SqlAuthStore:
    return backend.access.store


@pytest.fixture
def identity(store) -> IdentityService:
    return IdentityService(store)


@pytest.fixture
def models(backend):
    for name in ("wine", "fraud"):
        backend.registry.create_registered_model(name)
    return backend.registry


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


# ------------------------------------------------------------------ users
def test_users_are_created_listed_updated_and_deleted(identity, store):
    admin = identity.create_user("admin", "admin-password", is_admin=True)
    identity.create_user("svc", None)
    assert (admin.name, admin.is_admin) == ("admin", True)
    assert [(u.name, u.is_admin, u.password_hash is not None) for u in identity.list_users()] == [
        ("admin", True, True), ("svc", False, False)]
    assert "password_hash" not in admin.to_dict() and admin.to_dict()["has_password"] is True
    with pytest.raises(ResourceAlreadyExists, match="User 'admin' already exists."):
        identity.create_user("admin", "other-password")
    assert identity.set_admin("svc", True).is_admin is True
    identity.delete_user("svc")
    assert store.get_user("svc") is None and store.count_users() == 1
    with pytest.raises(ResourceDoesNotExist, match="User 'svc' not found"):
        identity.delete_user("svc")


@pytest.mark.parametrize("name", ["", "a:b", "with space", "-dash-first", "x" * 251, "tab\t"])
def test_user_names_that_basic_auth_cannot_carry_are_refused(identity, name):
    with pytest.raises(InvalidParameterValue, match="Invalid user name"):
        identity.create_user(name, "long-enough")


def test_short_passwords_are_refused(identity):
    with pytest.raises(InvalidParameterValue, match="at least 8 characters"):
        identity.create_user("alice", "short")


# ------------------------------------------------------------------ authentication
def test_a_password_authenticates_and_a_wrong_one_or_unknown_user_does_not(identity, store):
    identity.create_user("alice", "alice-password")
    auth = Authenticator(store)
    actor = auth.authenticate(basic("alice", "alice-password"))
    assert (actor.name, actor.authenticated, actor.via, actor.is_admin) == ("alice", True, "password", False)
    for header in (basic("alice", "wrong-password"), basic("bob", "alice-password")):
        with pytest.raises(Unauthenticated, match="Invalid username or password."):
            auth.authenticate(header)
    with pytest.raises(Unauthenticated, match="Authentication required"):
        auth.authenticate(None)


def test_a_verified_password_is_cached_until_it_expires_or_changes(identity, store, monkeypatch):
    from podium.auth import authenticator as module

    identity.create_user("alice", "alice-password")
    clock = [1000.0]
    auth = Authenticator(store, clock=lambda: clock[0])
    calls = []
    real = module.passwords.verify_password
    monkeypatch.setattr(module.passwords, "verify_password", lambda pw, h: calls.append(pw) or real(pw, h))
    header = basic("alice", "alice-password")
    auth.authenticate(header)
    auth.authenticate(header)
    assert len(calls) == 1
    clock[0] += module.PASSWORD_CACHE_SECONDS + 1
    auth.authenticate(header)
    assert len(calls) == 2
    identity.set_password("alice", "a-new-password")
    with pytest.raises(Unauthenticated):
        auth.authenticate(header)


def test_token_lifecycle_create_list_use_expire_revoke(identity, store):
    identity.create_user("ci", None)
    now = [1_700_000_000_000]
    auth = Authenticator(store, now_ms=lambda: now[0])
    secret, record = identity.create_token("ci", "deploy", expires_in_days=1)
    assert record.prefix in secret and record.token_hash != secret and record.last_used_at is None
    assert [t.name for t in identity.list_tokens("ci")] == ["deploy"]
    assert record.to_dict(now[0]).keys() >= {"id", "prefix", "expires_at", "last_used_at", "state"}
    # Bearer, and Basic with the token as the password
    actor = auth.authenticate(f"Bearer {secret}")
    assert (actor.name, actor.via) == ("ci", "token")
    assert auth.authenticate(basic("ci", secret)).name == "ci"
    with pytest.raises(Unauthenticated, match="Invalid, expired or revoked API token."):
        auth.authenticate(basic("someone-else", secret))
    # last use: written once, then at most once per interval
    assert store.get_token(record.id).last_used_at == now[0]
    first = now[0]
    now[0] += 1000
    auth.authenticate(f"Bearer {secret}")
    assert store.get_token(record.id).last_used_at == first
    now[0] += TOUCH_INTERVAL_MS
    auth.authenticate(f"Bearer {secret}")
    assert store.get_token(record.id).last_used_at == now[0]
    # expiry (the record's own time, not the wall clock: the token expires 1 day after creation)
    now[0] = record.expires_at + 1
    assert store.get_token(record.id).state(now[0]) == "expired"
    with pytest.raises(Unauthenticated):
        auth.authenticate(f"Bearer {secret}")
    # revocation is immediate and idempotent
    secret2, record2 = identity.create_token("ci")
    now[0] = record2.created_at
    auth.authenticate(f"Bearer {secret2}")
    revoked = identity.revoke_token(record2.id)
    assert revoked.state(now[0]) == "revoked"
    assert identity.revoke_token(record2.id).revoked_at == revoked.revoked_at
    with pytest.raises(Unauthenticated):
        auth.authenticate(f"Bearer {secret2}")
    with pytest.raises(Unauthenticated):
        auth.authenticate(f"Bearer {secret2[:-2]}xx")
    with pytest.raises(ResourceDoesNotExist):
        identity.revoke_token(99999)


def test_deleting_a_user_deletes_their_tokens_memberships_and_grants(identity, store, models):
    identity.create_user("ci", None)
    secret, _ = identity.create_token("ci")
    identity.create_group("team")
    identity.add_group_member("team", "ci")
    store.set_grant("wine", "user", "ci", EDIT)
    identity.delete_user("ci")
    assert store.find_token(secret.split("_")[1]) is None
    assert [g.members for g in identity.list_groups()] == [()]
    assert store.list_grants("wine") == []


# ------------------------------------------------------------------ groups and grants
def test_groups_members_and_grants(identity, store, models):
    alice = identity.create_user("alice", "alice-password")
    identity.create_group("team")
    identity.add_group_member("team", "alice")
    identity.add_group_member("team", "alice")  # idempotent
    assert [g.to_dict() for g in identity.list_groups()] == [{"name": "team", "members": ["alice"]}]
    assert store.groups_of(alice.id) == ["team"]
    store.set_grant("wine", "group", "team", READ)
    store.set_grant("wine", "user", "alice", EDIT)
    store.set_grant("wine", "user", "alice", MANAGE)  # replaces
    assert sorted(store.granted_permissions("wine", alice.id)) == [READ, MANAGE]
    assert store.granted_models(alice.id) == ["wine"]
    assert [g.to_dict() for g in store.list_grants("wine")] == [
        {"name": "wine", "principal_type": "user", "principal": "alice", "permission": "manage"},
        {"name": "wine", "principal_type": "group", "principal": "team", "permission": "read"}]
    store.delete_grant("wine", "user", "alice")
    store.delete_grant("wine", "user", "alice")  # idempotent
    identity.remove_group_member("team", "alice")
    assert store.granted_permissions("wine", alice.id) == []
    with pytest.raises(ResourceDoesNotExist, match="Group 'nope' not found"):
        store.set_grant("wine", "group", "nope", READ)
    with pytest.raises(ResourceDoesNotExist, match="Registered Model with name=nope not found"):
        store.set_grant("nope", "user", "alice", READ)


def test_grants_and_policies_follow_a_rename_and_vanish_with_the_model(identity, store, models):
    alice = identity.create_user("alice", "alice-password")
    store.set_grant("wine", "user", "alice", EDIT)
    store.set_policy(ModelPolicy("wine", ("Production",), ("champion",), "admin", True))
    models.rename_registered_model("wine", "red-wine")
    assert store.granted_permissions("red-wine", alice.id) == [EDIT]
    assert store.get_policy("red-wine") == ModelPolicy("red-wine", ("Production",), ("champion",), "admin", True)
    models.delete_registered_model("red-wine")
    models.create_registered_model("red-wine")
    assert store.granted_permissions("red-wine", alice.id) == [] and store.get_policy("red-wine") is None


def test_grant_and_policy_changes_are_recorded_in_the_model_history(identity, store, models, backend):
    identity.create_user("alice", "alice-password")
    store.set_grant("wine", "user", "alice", EDIT)
    store.set_grant("wine", "user", "alice", EDIT)  # no change, no event
    store.set_grant("wine", "user", "alice", Permission.MANAGE)
    store.delete_grant("wine", "user", "alice")
    store.delete_grant("wine", "user", "alice")  # idempotent, no event
    store.set_policy(ModelPolicy("wine", ("Production",)))
    store.set_policy(ModelPolicy("wine", ("Production",)))  # the same policy, no event
    store.set_policy(ModelPolicy("wine", ("Production",), requires_approval=True))
    events = [e for e in backend.history.get_model_history("wine") if e.action.startswith(("model_grant", "model_policy"))]
    assert [(e.action, e.target, e.before, e.after) for e in events[:3]] == [
        ("model_grant_set", "user:alice", None, {"permission": "edit"}),
        ("model_grant_set", "user:alice", {"permission": "edit"}, {"permission": "manage"}),
        ("model_grant_deleted", "user:alice", {"permission": "manage"}, None),
    ]
    assert [e.action for e in events[3:]] == ["model_policy_changed", "model_policy_changed"]
    assert events[3].before is None and events[3].after["protected_stages"] == ["Production"]
    assert (events[4].before["requires_approval"], events[4].after["requires_approval"]) == (False, True)


def test_policies_are_validated_and_replaced(backend, models):
    access = backend.access
    assert access.get_model_policy("wine") == ModelPolicy("wine")
    policy = access.set_model_policy("wine", ["production", "Production", "staging"], ["champion"], "ADMIN")
    assert policy == ModelPolicy("wine", ("Production", "Staging"), ("champion",), "admin", False)
    assert access.set_model_policy("wine", [], ["champion"]) == ModelPolicy("wine", (), ("champion",), "manage", False)
    with pytest.raises(InvalidParameterValue, match="Invalid require_role 'edit'"):
        access.set_model_policy("wine", require_role="edit")
    with pytest.raises(InvalidParameterValue, match="Invalid Model Version stage"):
        access.set_model_policy("wine", ["Prod"])
    with pytest.raises(InvalidParameterValue, match="reserved"):
        access.set_model_policy("wine", protected_aliases=["latest"])
    with pytest.raises(ResourceDoesNotExist):
        access.get_model_policy("nope")
    with pytest.raises(InvalidParameterValue, match="exactly one of 'user' and 'group'"):
        access.set_model_grant("wine", "read", user="a", group="b")
    with pytest.raises(InvalidParameterValue, match="Invalid permission 'owner'"):
        access.set_model_grant("wine", "owner", user="a")


# ------------------------------------------------------------------ the authorizer on the real store
def _actor(user, admin=False) -> Actor:
    return Actor(user.name, authenticated=True, is_admin=admin, via="password", user_id=user.id)


def test_model_permission_is_the_highest_grant_else_the_default_role(identity, store, models):
    alice, bob = identity.create_user("alice", "alice-password"), identity.create_user("bob", "bob-password")
    identity.create_group("team")
    identity.add_group_member("team", "bob")
    store.set_grant("wine", "group", "team", EDIT)
    store.set_grant("wine", "user", "alice", READ)  # lower than the default: applies to wine only
    authorizer = Authorizer(store, EDIT)
    assert authorizer.model_permission(_actor(alice), "wine") == READ
    assert authorizer.model_permission(_actor(alice), "fraud") == EDIT
    assert authorizer.model_permission(_actor(bob), "wine") == EDIT
    assert authorizer.model_permission(_actor(bob, admin=True), "wine") == MANAGE
    assert authorizer.readable_models(_actor(alice)) is None  # default >= read: everything
    none = Authorizer(store, Permission.NONE)
    assert none.readable_models(_actor(alice)) == ["wine"] and none.readable_models(_actor(bob)) == ["wine"]
    with pytest.raises(PermissionDenied, match=r"updating model 'wine' needs edit on 'wine' or admin; you \(alice\) have read$"):
        authorizer.check(_actor(alice), Need("model", EDIT, "updating", model="wine"))


def test_protected_targets(identity, store, models):
    manager, editor = identity.create_user("manager", "long-password"), identity.create_user("ed", "long-password")
    store.set_grant("wine", "user", "manager", MANAGE)
    store.set_grant("wine", "user", "ed", EDIT)
    store.set_policy(ModelPolicy("wine", ("Production",), ("champion",)))
    authorizer = Authorizer(store, READ)
    move = Need("model", EDIT, "moving stages of", model="wine", targets=(Target("stage", "Production", "3"),))
    other = Need("model", EDIT, "moving stages of", model="wine", targets=(Target("stage", "Staging", "3"),))
    authorizer.check(_actor(manager), move)
    authorizer.check(_actor(editor), other)
    with pytest.raises(PermissionDenied, match=r"moving 'Production' of model 'wine' needs manage on 'wine' or admin; you \(ed\) have edit"):
        authorizer.check(_actor(editor), move)
    store.set_policy(ModelPolicy("wine", ("Production",), (), "admin"))
    with pytest.raises(PermissionDenied, match="needs admin"):
        authorizer.check(_actor(manager), move)
    authorizer.check(_actor(manager, admin=True), move)
    store.set_policy(ModelPolicy("wine", ("Production",), (), "manage", requires_approval=True))
    with pytest.raises(PermissionDenied, match="podium models request wine 3 --stage Production"):
        authorizer.check(_actor(manager, admin=True), move)
    with pytest.raises(PermissionDenied, match="needs admin while it requires approval"):
        authorizer.check(_actor(manager), Need("model", MANAGE, "changing the policy of", model="wine", guards_policy=True))


def test_creating_models_and_tracking_need_the_registry_wide_role(identity, store, models):
    alice = identity.create_user("alice", "alice-password")
    reading = Authorizer(store, READ, model_exists=lambda name: name == "wine")
    reading.check(_actor(alice), Need("registry", READ, "reading"))
    reading.check(_actor(alice), Need("create_model", EDIT, model="wine"))  # exists: "already exists" is the answer
    with pytest.raises(PermissionDenied, match="creating a registered model needs the registry-wide role edit or admin"):
        reading.check(_actor(alice), Need("create_model", EDIT, model="new"))
    Authorizer(store, EDIT).check(_actor(alice), Need("create_model", EDIT, model="new"))
    with pytest.raises(PermissionDenied, match="needs admin"):
        reading.check(_actor(alice), Need("admin_only", MANAGE, "calling x"))


def test_artifact_reads_follow_the_models_registered_from_them(identity, store, backend):
    alice = identity.create_user("alice", "alice-password")
    run = backend.tracking.create_run("0", "x", 1, {}, None)
    backend.registry.create_registered_model("wine")
    backend.registry.create_model_version("wine", f"runs:/{run.info.run_id}/model", run.info.run_id)
    store.set_grant("wine", "user", "alice", READ)
    authorizer = Authorizer(store, Permission.NONE)
    authorizer.check(_actor(alice), Need("artifact_read", path=f"0/{run.info.run_id}/artifacts/model/MLmodel"))
    for path in ("", "0", f"0/{'f' * 32}/artifacts/x", "0/models/m-123/artifacts/x"):
        with pytest.raises(PermissionDenied, match="reading artifacts needs"):
            authorizer.check(_actor(alice), Need("artifact_read", path=path))


# ------------------------------------------------------------------ failed sign-ins shared by every worker
class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_failed_sign_ins_count_across_limiters_on_one_database(store):
    """Two limiters on the database are two worker processes (or two servers): one count, one limit."""
    from podium.auth.limiter import CLIENT_FACTOR, SharedFailureLimiter
    from podium.errors import RequestLimitExceeded

    clock = _Clock(1_800_000_000.0)
    one, two = SharedFailureLimiter(store, 3, clock=clock), SharedFailureLimiter(store, 3, clock=clock)
    keys = (("user", "bob"), ("client", "10.0.0.7"))
    for limiter in (one, two, one):
        limiter.attempt(keys)
        clock.now += 10
    with pytest.raises(RequestLimitExceeded) as refused:
        two.attempt(keys)
    assert refused.value.retry_after == 30  # the first failure (at t) leaves the window at t + 60
    with pytest.raises(RequestLimitExceeded):
        one.attempt(keys)  # a refused attempt adds nothing: still 30 s
    # the address has room for other users (CLIENT_FACTOR x the limit), and a success is taken back
    counted = one.attempt((("user", "carol"), ("client", "10.0.0.7")))
    two.forgive((("user", "carol"), ("client", "10.0.0.7")), counted)
    for i in range(3 * CLIENT_FACTOR - 3):  # bob used 3 of the address's 15
        two.attempt(((("user", f"u{i}"), ("client", "10.0.0.7"))))
    with pytest.raises(RequestLimitExceeded):
        one.attempt((("user", "dave"), ("client", "10.0.0.7")))
    # names of any length fit (a digest is stored, never the name)
    one.attempt((("user", "x" * 5000),))
    # after the window the key is free again, and expired rows are deleted as new ones are written
    clock.now += 60
    one.attempt(keys)
    from podium.auth.limiter import _digest
    assert store.login_failures([_digest(("user", "bob"))], 0) == {_digest(("user", "bob")): [int(clock.now * 1000)]}


def test_authenticators_of_two_workers_share_the_password_limit(store, identity):
    from podium.auth.limiter import SharedFailureLimiter
    from podium.errors import RequestLimitExceeded

    identity.create_user("bob", "bob-password")
    workers = [Authenticator(store, limiter=SharedFailureLimiter(store, 2)) for _ in range(2)]
    for worker in workers:  # one wrong password on each worker
        with pytest.raises(Unauthenticated):
            worker.authenticate(basic("bob", "wrong"), "10.0.0.9")
    for worker in workers:  # the limit (2) is used up on both, even for the right password
        with pytest.raises(RequestLimitExceeded):
            worker.authenticate(basic("bob", "bob-password"), "10.0.0.9")
