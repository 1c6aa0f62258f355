"""The project's own migrations, read from sql/, so tests keep holding when a migration is added."""

from __future__ import annotations

from paysim_cli.migrations.script import default_sql_dir, load_scripts

# The project's migrations, so tests keep holding when a migration is added.
PROJECT_VERSIONS = [script.version for script in load_scripts(default_sql_dir())]
LATEST = PROJECT_VERSIONS[-1]
NO_TRANSACTION_VERSIONS = {
    script.version for script in load_scripts(default_sql_dir()) if not script.sql("up").transactional
}
