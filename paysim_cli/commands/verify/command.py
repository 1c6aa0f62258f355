"""`paysim verify RUN_ID`."""

from __future__ import annotations

from typing import Annotated

import typer

from paysim_cli.commands.options import DatabaseUrlOption, JsonOption
from paysim_cli.commands.verify.render import reconciliation_renderer
from paysim_cli.context import app_context

EXAMPLES = (
    "paysim verify 20251128T000000000Z-s7",
    "paysim verify chaos-7 --json",
)


def verify(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="The run id `paysim simulate` printed.", show_default=False)],
    database_url: DatabaseUrlOption = None,
    json_output: JsonOption = False,
) -> None:
    """Reconcile a run's manifest with the pipeline's tables; exit 7 listing every difference."""
    from paysim_cli.reconcile.verify import verify_run

    state = app_context(ctx, json_output)
    report = verify_run(state.settings.override(database_url=database_url), run_id)
    state.output.outcome(report, reconciliation_renderer(report), report.failure())
