"""`paysim function`: package, deploy (with a health gate and automatic rollback), releases,
rollback, status and release settings of the pipeline's Function app."""

import typer

from paysim_cli.commands.function import deploy, package, releases, rollback, settings, status

app = typer.Typer(
    help="Package and deploy the Function app: health gate, automatic rollback, releases, settings.",
    no_args_is_help=True,
)
app.command("package")(package.package)
app.command("deploy")(deploy.deploy)
app.command("releases")(releases.releases)
app.command("rollback")(rollback.rollback)
app.command("status")(status.status)
app.add_typer(settings.app, name="settings")
