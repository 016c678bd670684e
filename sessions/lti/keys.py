"""Procto's own RSA keys for LTI: generated here, stored encrypted (procto.crypto), published as a
JWKS. The newest key is current; older ones stay published until an administrator deletes them."""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from procto import crypto
from sessions.models import LtiToolKey


def _aad(kid: str) -> bytes:
    return b"lti-tool-key:" + kid.encode()


def tool_key_create(key: LtiToolKey | None = None) -> LtiToolKey:
    """A new 2048-bit RSA key, current from now on (the previous ones stay published). `key`: an
    unsaved instance to fill (the admin's add form)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    kid = secrets.token_urlsafe(12)
    jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    jwk.update(kid=kid, alg="RS256", use="sig")
    key = key or LtiToolKey()
    key.kid, key.private_key, key.public_jwk = kid, crypto.encrypt(pem, aad=_aad(kid)), jwk
    key.save()
    return key


def tool_key_current() -> LtiToolKey:
    """The key Procto signs with (made on first need)."""
    return LtiToolKey.objects.first() or tool_key_create()


def tool_key_private_pem(key: LtiToolKey) -> str:
    return crypto.decrypt(bytes(key.private_key), aad=_aad(key.kid)).decode()


def tool_jwks() -> dict:
    """The public keys, newest first, as /lti/jwks serves them."""
    return {"keys": [key.public_jwk for key in LtiToolKey.objects.all()]}
