"""Console sessions: a signed, stateless cookie made from an API key, and CSRF tokens.

Signing in presents an API key once; the node answers with the cookie ``ta_console``::

    base64url(JSON {"k": key id, "iat": issued, "exp": expires, "n": nonce})
    "." base64url(HMAC-SHA256(session key, the first part))

The cookie holds no secret and no role: on every request the key id is looked up again, so
a revoked API key ends its sessions at the next request, and a changed role or party takes
effect at once. The session key is derived from the node's private key with HKDF-SHA256
(its own ``info`` label), so every process of one node accepts the same cookies without a
shared table, and rotating the node key signs everyone out.

CSRF: every form carries a token, HMAC(session key, ``"csrf|" + nonce``) of the session's
nonce. Before sign-in there is no session: the sign-in form's token is bound to a random
``ta_signin`` cookie instead (double submit, signed). Tokens are compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from protocol.certificates import PrivateKey

SESSION_COOKIE = "ta_console"
SIGNIN_COOKIE = "ta_signin"
CSRF_FIELD = "csrf"
_INFO = b"tradeaccord console session key v1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Session:
    """A verified session cookie: which API key signed in, when, and the CSRF nonce."""

    key_id: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    nonce: str


class SessionKeys:
    """The node's session key: signs cookies and CSRF tokens, verifies them."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("a session key has at least 32 bytes")
        self._key = key

    @classmethod
    def derive(cls, private_key: PrivateKey) -> SessionKeys:
        """HKDF-SHA256 over the node key's PKCS#8 bytes with the console's own label."""
        material = private_key.private_bytes(serialization.Encoding.DER,
                                             serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption())
        return cls(HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                        info=_INFO).derive(material))

    def _mac(self, label: str, text: str) -> str:
        return _b64(hmac.new(self._key, f"{label}|{text}".encode(), hashlib.sha256).digest())

    # -- the session cookie -----------------------------------------------------------------

    def issue(self, key_id: str, *, at: dt.datetime, lifetime: dt.timedelta) -> str:
        """A new cookie value for ``key_id``, valid from ``at`` for ``lifetime``."""
        body = {"k": key_id, "iat": int(at.timestamp()), "exp": int((at + lifetime).timestamp()),
                "n": secrets.token_urlsafe(16)}
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._mac('session', payload)}"

    def verify(self, value: str | None, *, at: dt.datetime) -> Session | None:
        """The session a cookie value stands for, or None (absent, forged, malformed or
        expired at ``at``)."""
        if not value or value.count(".") != 1 or len(value) > 1024:
            return None
        payload, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac("session", payload)):
            return None
        try:
            body = json.loads(_unb64(payload))
            session = Session(key_id=str(body["k"]),
                              issued_at=dt.datetime.fromtimestamp(int(body["iat"]), dt.UTC),
                              expires_at=dt.datetime.fromtimestamp(int(body["exp"]), dt.UTC),
                              nonce=str(body["n"]))
        except (ValueError, KeyError, TypeError, binascii.Error, OverflowError):
            return None
        if not session.issued_at <= at + dt.timedelta(minutes=5) or at >= session.expires_at:
            return None
        return session

    # -- CSRF -------------------------------------------------------------------------------

    def csrf_token(self, nonce: str) -> str:
        """The CSRF token for a session nonce (or a sign-in cookie's nonce)."""
        return self._mac("csrf", nonce)

    def csrf_valid(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token:
            return False
        return hmac.compare_digest(token, self.csrf_token(nonce))


def new_nonce() -> str:
    """A fresh random nonce for the sign-in cookie."""
    return secrets.token_urlsafe(16)
