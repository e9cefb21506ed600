"""Pseudonymisation key: load or create it, fingerprint it, derive the HMAC pads for SQL.

Identifiers are hashed inside DuckDB with HMAC-SHA-256 written in SQL
(``sha256(opad || unhex(sha256(ipad || value)))``), so hashing stays vectorised. The pads are
passed as bound parameters on each statement, never stored in the database or a macro.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import sys
from dataclasses import dataclass

from claimwatch.errors import PseudonymKeyError
from claimwatch.settings import Settings

_BLOCK = 64  # SHA-256 block size
MIN_KEY_LENGTH = 32


@dataclass(frozen=True)
class PseudonymKey:
    secret: bytes

    @property
    def fingerprint(self) -> str:
        """Identify the key without revealing it (stored in the database)."""
        return hashlib.sha256(b"claimwatch-key-fingerprint:" + self.secret).hexdigest()[:32]

    def pads(self) -> dict[str, bytes]:
        """Return the HMAC inner and outer pads, bound as ``$ipad`` / ``$opad`` in SQL."""
        k = self.secret if len(self.secret) <= _BLOCK else hashlib.sha256(self.secret).digest()
        k = k.ljust(_BLOCK, b"\0")
        return {
            "ipad": bytes(b ^ 0x36 for b in k),
            "opad": bytes(b ^ 0x5C for b in k),
        }

    def __repr__(self) -> str:  # never print the secret
        return f"PseudonymKey(fingerprint={self.fingerprint})"


def load_key(settings: Settings, *, create: bool = False) -> PseudonymKey:
    """Read the key from CLAIMWATCH_KEY or the key file; create the file on first use."""
    if settings.key is not None:
        secret = settings.key.get_secret_value().strip().encode()
        if len(secret) < MIN_KEY_LENGTH:
            raise PseudonymKeyError(f"CLAIMWATCH_KEY must be at least {MIN_KEY_LENGTH} characters long")
        return PseudonymKey(secret)
    path = settings.resolved_key_file
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise PseudonymKeyError(
                f"key file {path} is readable by other users (mode {mode:o}); run chmod 600 on it"
            )
        secret = path.read_bytes().strip()
        if len(secret) < MIN_KEY_LENGTH:
            raise PseudonymKeyError(f"key file {path} holds fewer than {MIN_KEY_LENGTH} characters")
        return PseudonymKey(secret)
    if not create:
        raise PseudonymKeyError(f"no pseudonymisation key: set CLAIMWATCH_KEY or provide {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret + b"\n")
    print(
        "\n"
        "************************************************************************\n"
        f"* claimwatch created a NEW pseudonymisation key: {path}\n"
        "* Back it up with the database and keep it secret (mode 0600).\n"
        "* Without it, newly loaded identifiers no longer join the stored ones;\n"
        "* the database refuses to run with any other key.\n"
        "************************************************************************\n",
        file=sys.stderr,
    )
    return PseudonymKey(secret)


# The same shapes as the SQL redaction (sql/staging/identifier_macros.sql, cw_looks_like_identifier);
# tests/store/test_privacy.py runs both on one list of identifier forms.
_SEP = r"[ .\-]?"
_IDENTIFIER_PATTERNS = (
    re.compile(r"[^\s@'\"]+@[^\s@'\"]+"),  # e-mail, anywhere
    re.compile(rf"\b[A-Za-z]{{2}}[0-9]{{2}}(?:{_SEP}[A-Za-z0-9]){{10,30}}\b"),  # IBAN, spaced or dashed
    re.compile(  # NIR: 13 characters + key, spaced, dotted or dashed
        rf"(?<![0-9])[1278](?:{_SEP}[0-9]){{4}}{_SEP}(?:2[AaBb]|[0-9]{_SEP}[0-9])(?:{_SEP}[0-9]){{6}}"
        rf"(?:(?:{_SEP}[0-9]){{2}})?(?![0-9])"
    ),
    re.compile(  # phone: +33 / 0033 / national 0, and 33 without the plus
        r"(?<![0-9+])(?:(?:\+|00)[ .\-]?[1-9](?:[ .\-()]*[0-9]){7,14}"
        rf"|0[1-9](?:{_SEP}[0-9]){{8}}|33{_SEP}[1-9](?:{_SEP}[0-9]){{8}})(?![0-9])"
    ),
)


def redact(text: str) -> str:
    """Mask anything that looks like an e-mail, IBAN, NIR or phone (for messages and logs)."""
    for pattern in _IDENTIFIER_PATTERNS:
        text = pattern.sub("[redacted]", text)
    return text
