"""`paysim dlq`: triage and replay the pipeline's failed items."""

import typer

from paysim_cli.commands.dlq import discard, export, purge, replay, show, stats
from paysim_cli.commands.dlq import list as list_

app = typer.Typer(
    help="Triage and replay failed items: list, show, stats, replay, discard, purge, export.",
    no_args_is_help=True,
)
app.command("list")(list_.list_items)
app.command("show")(show.show)
app.command("stats")(stats.stats)
app.command("replay")(replay.replay)
app.command("discard")(discard.discard)
app.command("purge")(purge.purge)
app.command("export")(export.export)
