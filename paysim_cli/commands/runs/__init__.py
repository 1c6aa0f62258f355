"""`paysim runs`: the simulate runs in the state directory, and whether each reconciled."""

from paysim_cli.commands.help import group, verb
from paysim_cli.commands.runs import compare, report, show
from paysim_cli.commands.runs import list as list_verb

app = group(
    "List, show, report and compare the simulate runs: their manifests, series, and whether they reconciled."
)
verb(app, "list", list_verb.list_runs, *list_verb.EXAMPLES)
verb(app, "show", show.show_run, *show.EXAMPLES)
verb(app, "report", report.report_run, *report.EXAMPLES)
verb(app, "compare", compare.compare_runs, *compare.EXAMPLES)
