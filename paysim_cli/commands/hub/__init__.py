"""`paysim hub`: inspect, feed and read the event hub, the local log or Azure Event Hubs."""

from paysim_cli.commands.help import group, verb
from paysim_cli.commands.hub import info, peek, send

app = group("Inspect, feed and read the event hub: the local event log or Azure Event Hubs.")
verb(app, "info", info.info, *info.EXAMPLES)
verb(app, "send", send.send, *send.EXAMPLES)
verb(app, "peek", peek.peek, *peek.EXAMPLES)
