"""`paysim runs show RUN_ID`: one run's manifest totals, files and last verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from paysim_cli.commands.options import JsonOption
from paysim_cli.context import app_context
from paysim_cli.output import plural

if TYPE_CHECKING:
    from rich.console import Console

    from paysim_cli.runs.catalog import RunDetail

EXAMPLES = ("paysim runs show 20251128T000000000Z-s7", "paysim runs show chaos-7 --json")


def show_run(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="The run id `paysim simulate` printed (`paysim runs list`).")],
    json_output: JsonOption = False,
) -> None:
    """Show what a run sent (its manifest's totals), its files, and whether it reconciled."""
    from paysim_cli.runs.catalog import show_run as catalog

    state = app_context(ctx, json_output)
    detail = catalog(state.settings, run_id)
    state.output.result(detail, lambda console: render_run(console, detail))


def render_run(console: Console, run: RunDetail) -> None:
    from rich.table import Table

    table = Table(title=f"run {run.run_id}: {run.state}", show_header=False)
    table.add_column("measure")
    table.add_column("value")
    rows = [
        ("directory", str(run.directory)),
        ("profile / seed", f"{run.profile} / {run.seed}" if run.profile else "no manifest"),
        ("target", f"{run.target} ({plural(run.workers or 0, 'worker')})" if run.target else ""),
        ("started / finished (UTC)", _span(run)),
        ("delivered", f"{run.delivered:,}" if run.delivered is not None else ""),
        (
            "valid / malformed / duplicates",
            f"{run.valid:,} / {run.malformed:,} / {run.duplicates:,}"
            if run.valid is not None and run.malformed is not None and run.duplicates is not None
            else "",
        ),
        ("undelivered", f"{run.undelivered:,}" if run.undelivered is not None else ""),
        ("windows", f"{run.windows:,}" if run.windows is not None else ""),
        ("files", ", ".join(run.files)),
    ]
    verification = run.verification
    if verification is not None:
        verdict = (
            "reconciles exactly" if verification.passed else plural(verification.differences, "difference")
        )
        rows.append(("last verified", f"{verification.verified_at:%Y-%m-%d %H:%M:%S} UTC: {verdict}"))
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    if verification is None and run.delivered is not None:
        console.print(f"not verified yet: `paysim verify {run.run_id}`", markup=False)


def _span(run: RunDetail) -> str:
    if run.started_at is None or run.finished_at is None:
        return ""
    return f"{run.started_at:%Y-%m-%d %H:%M:%S} / {run.finished_at:%Y-%m-%d %H:%M:%S}"
