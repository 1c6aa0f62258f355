"""`paysim archive`: check that the raw-events archive holds every committed event, and repair it."""

import typer

from paysim_cli.commands.archive import check, repair

app = typer.Typer(
    help="Check the raw-events archive against the pipeline's checkpoints; re-archive gaps from the hub.",
    no_args_is_help=True,
)
app.command("check")(check.check)
app.command("repair")(repair.repair)
