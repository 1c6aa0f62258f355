"""`paysim health --watch`: a live table at a terminal, one line or JSON document per report otherwise."""

from __future__ import annotations

from paysim_cli.commands.health.render import report_table, status_line
from paysim_cli.context import AppContext
from paysim_cli.health.models import HealthRequest
from paysim_cli.output import dumps_json


def watch_reports(state: AppContext, request: HealthRequest, interval: float) -> None:
    """Refresh every `interval` seconds until Ctrl-C; the last report's verdict decides the exit."""
    from paysim_cli.health import watch

    output = state.output
    reports = watch(state.settings, request, interval=interval)
    last = None
    try:
        if output.interactive:
            from rich.live import Live

            with Live(console=output.console, auto_refresh=False) as live:
                for last in reports:
                    live.update(report_table(last), refresh=True)
        else:
            for last in reports:
                line = dumps_json({"data": last}, indent=False) if output.json_mode else status_line(last)
                output.stdout.write(line + "\n")
                output.stdout.flush()
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a watch ends
    failure = None if last is None else last.failure()
    if failure is not None and not output.json_mode:
        raise failure
