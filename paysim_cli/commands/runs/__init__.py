"""`paysim runs`: the simulate runs in the state directory, and whether each reconciled."""

from paysim_cli.commands.help import group, verb
from paysim_cli.commands.runs import list as list_verb
from paysim_cli.commands.runs import show

app = group("List and show the simulate runs: their manifests, and whether `paysim verify` reconciled them.")
verb(app, "list", list_verb.list_runs, *list_verb.EXAMPLES)
verb(app, "show", show.show_run, *show.EXAMPLES)
