"""Claims-based security as Event Hubs does it: `$cbs` put-token with SAS or JWT tokens, per audience.

With no key configured the endpoint behaves like the Event Hubs emulator: every token is accepted. With
a shared access key, SAS tokens must carry its name and a valid, unexpired signature for an audience that
covers the entity, and JWTs are refused (no issuer to validate them against here); a refused token gets
status 401, as from the service.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, quote_plus, urlparse

SAS_TOKEN_TYPE = "servicebus.windows.net:sastoken"
SAS_PREFIX = "SharedAccessSignature "
# Where the endpoint's process reads its key: never its command line, which other users can read.
SAS_KEY_VARIABLE = "PAYSIM_AMQP_SAS_KEY"


@dataclass(frozen=True, slots=True)
class SharedAccessKey:
    """A shared access policy: its name and its (base64 text) key, used as the HMAC key as is."""

    name: str
    key: str


@dataclass(frozen=True, slots=True)
class TokenVerdict:
    status: int
    description: str
    expires_at: float = 0.0

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


def entity_path(address: str) -> str:
    """The entity an address or audience names, lower-cased and without scheme and host:
    `sb://localhost:5672/payments/ConsumerGroups/$Default` -> `payments/consumergroups/$default`."""
    path = urlparse(address).path if "://" in address else address
    return path.strip("/").lower()


def covers(audience_path: str, path: str) -> bool:
    """Whether a token for `audience_path` grants access to `path` (the namespace covers everything)."""
    return not audience_path or path == audience_path or path.startswith(audience_path + "/")


def check_token(
    token: str, token_type: str, audience: str, key: SharedAccessKey | None, now: float | None = None
) -> TokenVerdict:
    """Whether a put-token request for `audience` is accepted, and until when."""
    now = time.time() if now is None else now
    if key is None:
        return TokenVerdict(202, "Accepted", expires_at=float("inf"))
    if token_type != SAS_TOKEN_TYPE:
        return TokenVerdict(401, f"token type {token_type!r} cannot be verified; use a SAS token")
    fields = {name: values[0] for name, values in parse_qs(token.removeprefix(SAS_PREFIX)).items()}
    resource, signature, expiry, key_name = (fields.get(name, "") for name in ("sr", "sig", "se", "skn"))
    if not token.startswith(SAS_PREFIX) or not resource or not signature or not expiry.isdigit():
        return TokenVerdict(401, "InvalidSignature: the token is not a shared access signature")
    if key_name != key.name:
        return TokenVerdict(401, f"InvalidSignature: unknown shared access policy {key_name!r}")
    expected = base64.b64encode(
        hmac.new(key.key.encode(), f"{quote_plus(resource)}\n{expiry}".encode(), hashlib.sha256).digest()
    ).decode()
    if not hmac.compare_digest(expected, signature):
        return TokenVerdict(401, "InvalidSignature: the token signature is not valid")
    if int(expiry) <= now:
        return TokenVerdict(401, "ExpiredToken: the token has expired")
    if not covers(entity_path(resource), entity_path(audience)):
        return TokenVerdict(401, f"InvalidAudience: the token is for {resource}, not {audience}")
    return TokenVerdict(202, "Accepted", expires_at=float(expiry))


class Grants:
    """What one connection's accepted tokens allow: each audience until its expiry. Without a key every
    entity is allowed (the emulator's behaviour); SASL PLAIN with the policy's key grants the namespace."""

    def __init__(self, key: SharedAccessKey | None) -> None:
        self._key = key
        self._expiry: dict[str, float] = {}

    def grant(self, audience: str, expires_at: float) -> None:
        self._expiry[entity_path(audience)] = expires_at

    def allows(self, address: str) -> bool:
        if self._key is None:
            return True
        path, now = entity_path(address), time.time()
        return any(covers(audience, path) and expiry > now for audience, expiry in self._expiry.items())


def plain_credentials_valid(response: bytes, key: SharedAccessKey | None) -> bool:
    """SASL PLAIN (`authzid NUL authcid NUL password`) as Service Bus takes it: policy name and key."""
    if key is None:
        return True
    parts = response.split(b"\0")
    return (
        len(parts) == 3 and parts[1] == key.name.encode() and hmac.compare_digest(parts[2], key.key.encode())
    )
