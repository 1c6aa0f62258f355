"""`paysim verify RUN_ID`: reconcile a simulate run's manifest with the pipeline's tables."""

from paysim_cli.commands.verify.command import EXAMPLES, verify

__all__ = ["EXAMPLES", "verify"]
