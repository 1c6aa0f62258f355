"""The `$cbs` and `$management` nodes: a put-token or a READ request in, the reply for the peer's reply
link out (correlated by the request's message id, as the SDK expects)."""

from __future__ import annotations

from typing import Any

from paysim_cli.hub.amqp.auth import Grants, SharedAccessKey, check_token
from paysim_cli.hub.amqp.codec import Message, Properties, encode_message, text
from paysim_cli.hub.amqp.hub import EventHub, ServiceNode


async def answer(
    node: ServiceNode, request: Any, hub: EventHub, key: SharedAccessKey | None, grants: Grants
) -> bytes:
    """The encoded reply to one request; an accepted token is added to the connection's `grants`."""
    properties = {text(name): value for name, value in (request.application_properties or {}).items()}
    body = None
    if node is ServiceNode.CBS:
        audience = text(properties.get("name", ""))
        verdict = check_token(text(request.value or ""), text(properties.get("type", "")), audience, key)
        if verdict.accepted:
            grants.grant(audience, verdict.expires_at)
        status, description = verdict.status, verdict.description
    elif not grants.allows(hub.name):
        status, description = (
            401,
            "Unauthorized access. 'Listen' claim(s) are required to perform this operation.",
        )
    else:
        status, description, body = await hub.management(properties)
    message_id = request.properties.message_id if request.properties is not None else None
    return encode_message(
        Message(
            properties=Properties(correlation_id=message_id),
            application_properties={"status-code": status, "status-description": description},
            value=body,
        )
    )
