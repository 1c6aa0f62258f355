"""`paysim hub`: inspect, feed and read the event hub, the local log or Azure Event Hubs."""

import typer

from paysim_cli.commands.hub import info, peek, send

app = typer.Typer(
    help="Inspect, feed and read the event hub: the local event log or Azure Event Hubs.",
    no_args_is_help=True,
)
app.command("info")(info.info)
app.command("send")(send.send)
app.command("peek")(peek.peek)
