"""`paysim verify RUN_ID`."""

from __future__ import annotations

from typing import Annotated

import typer

from paysim_cli.commands.options import ConsumerGroupOption, DatabaseUrlOption, JsonOption
from paysim_cli.commands.verify.render import reconciliation_renderer
from paysim_cli.context import app_context

EXAMPLES = (
    "paysim verify 20251128T000000000Z-s7",
    "paysim verify chaos-7 --json",
    "paysim verify chaos-7 --consumer-group pipeline --no-archive",
)


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
    state.output.outcome(report, reconciliation_renderer(report), report.failure())
