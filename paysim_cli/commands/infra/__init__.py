"""`paysim infra`: provision the pipeline's Azure resources with Terraform, one environment at a time."""

from paysim_cli.commands.help import group, verb
from paysim_cli.commands.infra import down, init, output, plan, up

app = group("Provision the pipeline's Azure resources with Terraform: init, plan, up, down, output.")
verb(app, "init", init.init, *init.EXAMPLES)
verb(app, "plan", plan.plan, *plan.EXAMPLES)
verb(app, "up", up.up, *up.EXAMPLES)
verb(app, "down", down.down, *down.EXAMPLES)
verb(app, "output", output.output, *output.EXAMPLES)
