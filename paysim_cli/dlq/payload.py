"""Payload bytes as data both people and files can carry: UTF-8 text when they decode, else base64."""

from __future__ import annotations

import base64
import hashlib

from paysim_cli.dlq.models import Payload


def payload_view(raw: bytes) -> Payload:
    """The payload as text when it is valid UTF-8 (control characters kept: renderers escape them),
    otherwise in base64; with its size and SHA-256 so two payloads can be compared at a glance."""
    digest = hashlib.sha256(raw).hexdigest()
    try:
        return Payload(bytes=len(raw), sha256=digest, encoding="utf-8", content=raw.decode("utf-8"))
    except UnicodeDecodeError:
        return Payload(
            bytes=len(raw), sha256=digest, encoding="base64", content=base64.b64encode(raw).decode("ascii")
        )
