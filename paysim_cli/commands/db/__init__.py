"""`paysim db`: schema migrations for the pipeline's PostgreSQL."""

from paysim_cli.commands.db import migrate, new, rollback, status, verify
from paysim_cli.commands.help import group, verb

app = group("Migrate the pipeline's PostgreSQL schema: status, migrate, rollback, verify, new.")
verb(app, "status", status.status, *status.EXAMPLES)
verb(app, "migrate", migrate.migrate, *migrate.EXAMPLES)
verb(app, "rollback", rollback.rollback, *rollback.EXAMPLES)
verb(app, "verify", verify.verify, *verify.EXAMPLES)
verb(app, "new", new.new, *new.EXAMPLES)
