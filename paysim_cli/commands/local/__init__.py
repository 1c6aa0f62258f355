"""`paysim local`: the embedded stack."""

import typer

app = typer.Typer(help="Run the embedded local stack: PostgreSQL, Azurite, the local event log.", no_args_is_help=True)
