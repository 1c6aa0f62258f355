"""`paysim local`: the embedded stack."""

import typer

from paysim_cli.commands.local import down, reset, status, up

app = typer.Typer(
    help="Run the embedded local stack: PostgreSQL, Azurite, the local event log.", no_args_is_help=True
)
app.command("up")(up.up)
app.command("down")(down.down)
app.command("status")(status.status)
app.command("reset")(reset.reset)
