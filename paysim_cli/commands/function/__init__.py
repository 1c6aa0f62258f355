"""`paysim function`: package, deploy (with a health gate and automatic rollback), releases,
rollback, status and release settings of the pipeline's Function app."""

from paysim_cli.commands.function import deploy, package, releases, rollback, settings, status
from paysim_cli.commands.help import group, verb

app = group("Package and deploy the Function app: health gate, automatic rollback, releases, settings.")
verb(app, "package", package.package, *package.EXAMPLES)
verb(app, "deploy", deploy.deploy, *deploy.EXAMPLES)
verb(app, "releases", releases.releases, *releases.EXAMPLES)
verb(app, "rollback", rollback.rollback, *rollback.EXAMPLES)
verb(app, "status", status.status, *status.EXAMPLES)
app.add_typer(settings.app, name="settings")
