"""`paysim verify RUN_ID`."""

from __future__ import annotations

from typing import Annotated

import typer

from paysim_cli.commands.hub.options import ConsumerGroupOption
from paysim_cli.commands.options import DatabaseUrlOption, JsonOption
from paysim_cli.commands.verify.render import print_verdict, reconciliation_renderer
from paysim_cli.context import app_context


def verify(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="The run id `paysim simulate` printed.", show_default=False)],
    database_url: DatabaseUrlOption = None,
    archive: Annotated[
        bool,
        typer.Option(
            "--archive/--no-archive", help="Also check the raw-events archive (needs blob storage)."
        ),
    ] = True,
    consumer_group: ConsumerGroupOption = None,
    json_output: JsonOption = False,
) -> None:
    """Reconcile a run's manifest with the pipeline's tables and raw archive; exit 7 listing differences."""
    from paysim_cli.reconcile.verify import verify_run

    state = app_context(ctx, json_output)
    report = verify_run(
        state.settings.override(database_url=database_url),
        run_id,
        archive=archive,
        consumer_group=consumer_group,
    )
    print_verdict(state.output, report, reconciliation_renderer(report), report.failure())
