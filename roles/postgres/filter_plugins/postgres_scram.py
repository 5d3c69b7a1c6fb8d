"""SCRAM-SHA-256 verifiers of the benchmark role's password, computed on the controller.

Postgres keeps a role's password as a verifier (RFC 5802, RFC 7677), and it takes one in place of a password:
`CREATE ROLE ... PASSWORD 'SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>'` stores it as it is. Sending the
verifier rather than the password keeps the password off the db host: SQL texts (pg_stat_statements, the
server log) and the module arguments shipped to the host only ever hold the verifier.

    postgres_scram_verifier(password, current='')   current when it is a verifier of password (a re-run
                                                    changes nothing), else a new one with a random salt
    postgres_scram_matches(verifier, password)      whether verifier was made from password

The password is normalized as Postgres does (pg_saslprep in src/common/saslprep.c): an ASCII password as it
is; otherwise SASLprep (RFC 4013), and the raw bytes where SASLprep refuses it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import stringprep
import unicodedata
from collections.abc import Callable
from typing import Any

# Postgres' own choices (scram_build_secret): 4096 iterations (scram_iterations), a 16-byte salt.
ITERATIONS = 4096
SALT_BYTES = 16
_VERIFIER = re.compile(
    r"^SCRAM-SHA-256\$(?P<iterations>[0-9]+):(?P<salt>[A-Za-z0-9+/=]+)"
    r"\$(?P<stored_key>[A-Za-z0-9+/=]+):(?P<server_key>[A-Za-z0-9+/=]+)$"
)

# RFC 4013 section 2: the characters SASLprep maps, and those it refuses (C.1.2 to C.9, and unassigned).
_PROHIBITED: tuple[Callable[[str], bool], ...] = (
    stringprep.in_table_c12,
    stringprep.in_table_c21_c22,
    stringprep.in_table_c3,
    stringprep.in_table_c4,
    stringprep.in_table_c5,
    stringprep.in_table_c6,
    stringprep.in_table_c7,
    stringprep.in_table_c8,
    stringprep.in_table_c9,
    stringprep.in_table_a1,
)


def _saslprep(password: str) -> str | None:
    """SASLprep of a non-ASCII password as pg_saslprep does it, or None where it refuses the password.

    Like Postgres, the prohibited and bidirectional checks look at the mapped characters, before the NFKC
    normalization, and an empty result is refused.
    """
    mapped = [" " if stringprep.in_table_c12(c) else c for c in password if not stringprep.in_table_b1(c)]
    if not mapped or any(check(c) for c in mapped for check in _PROHIBITED):
        return None
    # RFC 3454 section 6: right-to-left text holds no left-to-right character, and starts and ends with a
    # right-to-left one.
    if any(stringprep.in_table_d1(c) for c in mapped) and (
        any(stringprep.in_table_d2(c) for c in mapped)
        or not (stringprep.in_table_d1(mapped[0]) and stringprep.in_table_d1(mapped[-1]))
    ):
        return None
    return unicodedata.normalize("NFKC", "".join(mapped))


def _password_bytes(password: str) -> bytes:
    # An ASCII password is used as it is, control characters included (pg_saslprep's first step).
    if password.isascii():
        return password.encode("ascii")
    prepared = _saslprep(password)
    return (prepared if prepared is not None else password).encode("utf-8")


def _keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    """(StoredKey, ServerKey) of RFC 5802 section 3."""
    salted = hashlib.pbkdf2_hmac("sha256", _password_bytes(password), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return hashlib.sha256(client_key).digest(), server_key


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def build_verifier(password: str, salt: bytes, iterations: int = ITERATIONS) -> str:
    """The verifier Postgres would store for password with this salt and iteration count."""
    stored_key, server_key = _keys(password, salt, iterations)
    return f"SCRAM-SHA-256${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


def postgres_scram_matches(verifier: Any, password: Any) -> bool:
    """Whether verifier (pg_authid.rolpassword) is a SCRAM-SHA-256 verifier of password."""
    if not isinstance(verifier, str) or not isinstance(password, str):
        return False
    match = _VERIFIER.match(verifier)
    if match is None:
        return False
    try:
        salt = base64.b64decode(match["salt"], validate=True)
        stored_key = base64.b64decode(match["stored_key"], validate=True)
        server_key = base64.b64decode(match["server_key"], validate=True)
    except ValueError:
        return False
    iterations = int(match["iterations"])
    if iterations < 1:
        return False
    expected_stored, expected_server = _keys(password, salt, iterations)
    return hmac.compare_digest(stored_key, expected_stored) and hmac.compare_digest(
        server_key, expected_server
    )


def postgres_scram_verifier(password: Any, current: Any = "") -> str:
    """current when it already verifies password (so a second provisioning changes nothing), else a new
    verifier with a random salt, as Postgres would make from the password itself."""
    if not isinstance(password, str) or not password:
        raise ValueError("postgres_scram_verifier needs the password as a non-empty string")
    if postgres_scram_matches(current, password):
        return str(current)
    return build_verifier(password, os.urandom(SALT_BYTES))


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "postgres_scram_verifier": postgres_scram_verifier,
            "postgres_scram_matches": postgres_scram_matches,
        }
