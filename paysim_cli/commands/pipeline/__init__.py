"""`paysim pipeline`: run the pipeline's function locally, over the local event log or Event Hubs."""

import typer

from paysim_cli.commands.pipeline import run

app = typer.Typer(
    help="Run the pipeline's Azure Function locally: the local event log or Event Hubs feeds it batches.",
    no_args_is_help=True,
)
app.command("run")(run.run)
