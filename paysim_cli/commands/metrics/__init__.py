"""`paysim metrics`: the pipeline's metrics, read back from PostgreSQL."""

from paysim_cli.commands.help import group, verb
from paysim_cli.commands.metrics import cluster, show

app = group("Read the pipeline's metrics: the latest windows, dynamic metrics, merchant clusters.")
verb(app, "show", show.show, *show.EXAMPLES)
verb(app, "cluster", cluster.cluster, *cluster.EXAMPLES)
