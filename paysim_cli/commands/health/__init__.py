"""`paysim health`: the whole pipeline's health, for people, CI steps and deploy gates."""

from paysim_cli.commands.health.command import EXAMPLES, health

__all__ = ["EXAMPLES", "health"]
