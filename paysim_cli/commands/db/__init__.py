"""`paysim db`: schema migrations for the pipeline's PostgreSQL."""

import typer

from paysim_cli.commands.db import migrate, new, rollback, status, verify

app = typer.Typer(
    help="Migrate the pipeline's PostgreSQL schema: status, migrate, rollback, verify, new.",
    no_args_is_help=True,
)
app.command("status")(status.status)
app.command("migrate")(migrate.migrate)
app.command("rollback")(rollback.rollback)
app.command("verify")(verify.verify)
app.command("new")(new.new)
