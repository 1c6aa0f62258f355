"""`paysim infra`: provision the pipeline's Azure resources with Terraform, one environment at a time."""

import typer

from paysim_cli.commands.infra import down, init, output, plan, up

app = typer.Typer(
    help="Provision the pipeline's Azure resources with Terraform: init, plan, up, down, output.",
    no_args_is_help=True,
)
app.command("init")(init.init)
app.command("plan")(plan.plan)
app.command("up")(up.up)
app.command("down")(down.down)
app.command("output")(output.output)
