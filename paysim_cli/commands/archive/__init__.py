"""`paysim archive`: check that the raw-events archive holds every committed event, and repair it."""

from paysim_cli.commands.archive import check, repair
from paysim_cli.commands.help import group, verb

app = group("Check the raw-events archive against the pipeline's checkpoints; re-archive gaps from the hub.")
verb(app, "check", check.check, *check.EXAMPLES)
verb(app, "repair", repair.repair, *repair.EXAMPLES)
