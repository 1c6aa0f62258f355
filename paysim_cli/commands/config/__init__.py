"""`paysim config`: inspect the resolved settings."""

from paysim_cli.commands.config import show
from paysim_cli.commands.help import group, verb

app = group("Inspect the resolved settings.")
verb(app, "show", show.show, *show.EXAMPLES)
