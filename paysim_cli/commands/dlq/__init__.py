"""`paysim dlq`: triage and replay the pipeline's failed items."""

from paysim_cli.commands.dlq import discard, export, purge, replay, show, stats
from paysim_cli.commands.dlq import list as list_verb
from paysim_cli.commands.help import group, verb

app = group("Triage and replay failed items: list, show, stats, replay, discard, purge, export.")
verb(app, "list", list_verb.list_items, *list_verb.EXAMPLES)
verb(app, "show", show.show, *show.EXAMPLES)
verb(app, "stats", stats.stats, *stats.EXAMPLES)
verb(app, "replay", replay.replay, *replay.EXAMPLES)
verb(app, "discard", discard.discard, *discard.EXAMPLES)
verb(app, "purge", purge.purge, *purge.EXAMPLES)
verb(app, "export", export.export, *export.EXAMPLES)
