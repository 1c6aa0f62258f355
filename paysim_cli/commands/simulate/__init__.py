"""`paysim simulate`: realistic payment load at a precise rate, with a manifest for reconciliation."""

from paysim_cli.commands.simulate.command import EXAMPLES, simulate

__all__ = ["EXAMPLES", "simulate"]
