"""Password hashes (scrypt) and API token format: hash, verify, salt, cost, malformed input."""

from __future__ import annotations

import pytest

from podium.auth import passwords, tokens


def test_a_password_verifies_against_its_hash_and_nothing_else():
    stored = passwords.hash_password("correct horse")
    assert stored.startswith("scrypt$15$8$1$")
    assert passwords.verify_password("correct horse", stored)
    assert not passwords.verify_password("correct horsE", stored)
    assert not passwords.verify_password("", stored)


def test_each_hash_has_its_own_salt():
    first, second = passwords.hash_password("same password"), passwords.hash_password("same password")
    assert first != second
    assert first.split("$")[4] != second.split("$")[4]
    assert passwords.verify_password("same password", first) and passwords.verify_password("same password", second)


def test_the_cost_travels_with_the_hash():
    cheap = passwords.hash_password("pw-cheap-1", log2_n=12)
    assert cheap.startswith("scrypt$12$")
    assert passwords.verify_password("pw-cheap-1", cheap)
    assert passwords.needs_rehash(cheap)
    assert not passwords.needs_rehash(passwords.hash_password("pw-today-1"))


@pytest.mark.parametrize("stored", [None, "", "plain", "bcrypt$2b$12$abc", "scrypt$15$8$1$!!$!!",
                                    "scrypt$30$8$1$AAAA$AAAA", "scrypt$15$8$1$AAAA"])
def test_a_missing_or_malformed_hash_never_verifies_and_never_raises(stored):
    assert passwords.verify_password("anything", stored) is False


def test_the_dummy_hash_is_well_formed_and_matches_nothing():
    assert not passwords.verify_password("", passwords.DUMMY_HASH)
    assert not passwords.verify_password("admin", passwords.DUMMY_HASH)


def test_a_new_token_has_a_lookup_prefix_and_is_stored_as_its_sha256():
    token, prefix, digest = tokens.new_token()
    assert token.startswith(f"podium_{prefix}_") and len(prefix) == 8
    assert len(token) > 50
    assert tokens.prefix_of(token) == prefix
    assert len(digest) == 64 and token not in digest
    assert tokens.matches(token, digest) and not tokens.matches(token + "x", digest)
    assert tokens.new_token()[0] != token


@pytest.mark.parametrize("text", ["", "podium_", "podium_abc_def", "podium_ABCDEF12_x", "podium_abcdef12_",
                                  "pw-alice-secret", "xpodium_abcdef12_secret"])
def test_text_that_is_not_a_token_has_no_prefix(text):
    assert tokens.prefix_of(text) is None
    assert not tokens.looks_like_token(text)
