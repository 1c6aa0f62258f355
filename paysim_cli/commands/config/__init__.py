"""`paysim config`: inspect the resolved settings."""

import typer

from paysim_cli.commands.config import show

app = typer.Typer(help="Inspect the resolved settings.", no_args_is_help=True)
app.command("show")(show.show)
