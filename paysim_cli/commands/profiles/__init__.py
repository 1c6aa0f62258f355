"""`paysim profiles`: the load profiles `paysim simulate` runs."""

from paysim_cli.commands.help import group, verb
from paysim_cli.commands.profiles import list as list_verb
from paysim_cli.commands.profiles import show, validate

app = group("List, show and validate load profiles (profiles/*.yaml).")
verb(app, "list", list_verb.list_profiles, *list_verb.EXAMPLES)
verb(app, "show", show.show_profile, *show.EXAMPLES)
verb(app, "validate", validate.validate_profiles, *validate.EXAMPLES)
