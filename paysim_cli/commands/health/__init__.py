"""`paysim health`: the whole pipeline's health, for people, CI steps and deploy gates."""

from paysim_cli.commands.health.command import health

__all__ = ["health"]
