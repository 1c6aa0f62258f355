"""`paysim demo`: the whole pipeline on the local stack, in one command (what `make demo` runs)."""

from paysim_cli.commands.demo.command import EXAMPLES, demo

__all__ = ["EXAMPLES", "demo"]
