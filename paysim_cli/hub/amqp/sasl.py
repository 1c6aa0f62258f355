"""The protocol headers and the SASL exchange that open every connection: ANONYMOUS, MSSBCBS (the SDK's
choice: claims follow over `$cbs`) and PLAIN (policy name and key, checked when a key is configured)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from paysim_cli.hub.amqp.auth import SharedAccessKey, plain_credentials_valid
from paysim_cli.hub.amqp.codec import (
    AMQP_HEADER,
    SASL_FRAME,
    SASL_HEADER,
    Hangup,
    SaslInit,
    SaslMechanisms,
    SaslOutcome,
    encode_frame,
)

SASL_MECHANISMS = (b"MSSBCBS", b"PLAIN", b"ANONYMOUS")


async def negotiate(
    read_header: Callable[[], Awaitable[bytes]],
    read_frame: Callable[[int], Awaitable[tuple[int, Any]]],
    write: Callable[[bytes], None],
    key: SharedAccessKey | None,
) -> bool:
    """Agree on AMQP (after SASL, when the peer starts with it). True when SASL PLAIN authenticated the
    peer with the policy's key, which grants the whole namespace. A header the endpoint does not speak is
    answered with its own, then `Hangup`; so is a refused SASL outcome."""
    header = await read_header()
    plain = False
    if header == SASL_HEADER:
        write(SASL_HEADER + encode_frame(0, SaslMechanisms(list(SASL_MECHANISMS)), SASL_FRAME))
        _, init = await read_frame(SASL_FRAME)
        if not isinstance(init, SaslInit):
            raise Hangup
        mechanism = bytes(init.mechanism or b"")
        plain = mechanism == b"PLAIN"
        accepted = mechanism in SASL_MECHANISMS and (
            not plain or plain_credentials_valid(bytes(init.initial_response or b""), key)
        )
        write(encode_frame(0, SaslOutcome(code=0 if accepted else 1, additional_data=None), SASL_FRAME))
        if not accepted:
            raise Hangup
        header = await read_header()
    if header != AMQP_HEADER:
        write(SASL_HEADER)
        raise Hangup
    write(AMQP_HEADER)
    return plain
