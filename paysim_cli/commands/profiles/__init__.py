"""`paysim profiles`: the load profiles `paysim simulate` runs."""

import typer

from paysim_cli.commands.profiles.list import list_profiles
from paysim_cli.commands.profiles.show import show_profile
from paysim_cli.commands.profiles.validate import validate_profiles

app = typer.Typer(help="List, show and validate load profiles (profiles/*.yaml).", no_args_is_help=True)
app.command("list")(list_profiles)
app.command("show")(show_profile)
app.command("validate")(validate_profiles)
