"""`paysim metrics`: the pipeline's metrics, read back from PostgreSQL."""

import typer

from paysim_cli.commands.metrics import cluster, show

app = typer.Typer(
    help="Read the pipeline's metrics: the latest windows, dynamic metrics, merchant clusters.",
    no_args_is_help=True,
)
app.command("show")(show.show)
app.command("cluster")(cluster.cluster)
