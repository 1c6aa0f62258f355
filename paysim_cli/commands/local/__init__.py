"""`paysim local`: the embedded stack."""

from paysim_cli.commands.help import group, verb
from paysim_cli.commands.local import down, logs, reset, status, up

app = group("Run the embedded local stack: PostgreSQL, Azurite, the local event log and its AMQP endpoint.")
verb(app, "up", up.up, *up.EXAMPLES)
verb(app, "down", down.down, *down.EXAMPLES)
verb(app, "status", status.status, *status.EXAMPLES)
verb(app, "logs", logs.logs, *logs.EXAMPLES)
verb(app, "reset", reset.reset, *reset.EXAMPLES)
