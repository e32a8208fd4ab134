"""Is a TXT record a usable DKIM key record (RFC 6376 section 3.6.1)?"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

MIN_RSA_BITS = 1024  # RFC 8301: receivers reject shorter RSA keys


@dataclass(frozen=True)
class KeyCheck:
    valid: bool
    problem: str = ""  # why not, in plain words
    key_type: str = "rsa"
    bits: int | None = None


def tags(record: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in record.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            out.setdefault(name.strip().lower(), "".join(value.split()))
    return out


def looks_like_dkim(record: str) -> bool:
    found = tags(record)
    return "p" in found or found.get("v", "").upper() == "DKIM1"


def check_key(record: str) -> KeyCheck:
    """Whether ``record`` holds a public key a receiver can verify with."""
    found = tags(record)
    if "v" in found and (found["v"] != "DKIM1" or not record.strip().lower().startswith("v")):
        return KeyCheck(False, "its v= tag must be DKIM1 and come first")
    if "p" not in found:
        return KeyCheck(False, "it has no p= (public key) tag")
    if not found["p"]:
        return KeyCheck(False, "its key is empty (p=), which means the key was revoked")
    key_type = found.get("k", "rsa").lower()
    if key_type not in ("rsa", "ed25519"):
        return KeyCheck(False, f"its key type k={key_type} is not one receivers know (rsa, ed25519)")
    try:
        der = base64.b64decode(found["p"], validate=True)
    except (binascii.Error, ValueError):
        return KeyCheck(False, "its p= value is not valid base64 (often a key split or cut when pasting)")
    if key_type == "ed25519":
        ok = len(der) == 32
        return KeyCheck(ok, "" if ok else "its Ed25519 key is not 32 bytes", "ed25519", 256 if ok else None)
    return _rsa(der)


def _rsa(der: bytes) -> KeyCheck:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        key = load_der_public_key(der)
    except (ValueError, TypeError):
        return KeyCheck(False, "its p= value is not an RSA public key (often a key cut when pasting)")
    if not isinstance(key, rsa.RSAPublicKey):
        return KeyCheck(False, "its p= value is not an RSA key although k=rsa")
    if key.key_size < MIN_RSA_BITS:
        return KeyCheck(False, f"its RSA key has {key.key_size} bits; receivers require at least {MIN_RSA_BITS}")
    return KeyCheck(True, bits=key.key_size)
