"""`paysim pipeline`: run the pipeline's function locally, over the local event log or Event Hubs."""

from paysim_cli.commands.help import group, verb
from paysim_cli.commands.pipeline import run

app = group("Run the pipeline's Azure Function locally: the local event log or Event Hubs feeds it batches.")
verb(app, "run", run.run, *run.EXAMPLES)
