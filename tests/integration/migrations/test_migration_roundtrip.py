"""The project's migrations against a real PostgreSQL: each one up, down and up again, exactly."""

from __future__ import annotations

from project_migrations import LATEST, NO_TRANSACTION_VERSIONS, PROJECT_VERSIONS

from paysim_cli.migrations import downgrade, upgrade, verify
from paysim_cli.migrations.script import default_sql_dir, load_scripts


def test_every_migration_round_trips_to_the_same_catalog(db_settings, catalog_snapshot) -> None:
    upgrade(db_settings, 0)  # creates schema_migrations only, so the baseline includes it
    before = catalog_snapshot()
    scripts = load_scripts(default_sql_dir())
    assert [script.version for script in scripts] == PROJECT_VERSIONS
    for script in scripts:
        assert [step.version for step in upgrade(db_settings, script.version).steps] == [script.version]
        after_up = catalog_snapshot()
        assert after_up != before, f"{script.label} changed nothing"
        assert [step.version for step in downgrade(db_settings, steps=1).steps] == [script.version]
        assert catalog_snapshot() == before, f"{script.label} down left the catalog changed"
        upgrade(db_settings, script.version)
        assert catalog_snapshot() == after_up, f"{script.label} up again differs"
        before = after_up
    assert verify(db_settings).current_version == LATEST


def test_rollback_to_zero_reverts_everything_in_reverse_order(db_settings, catalog_snapshot) -> None:
    upgrade(db_settings, 0)
    empty = catalog_snapshot()
    upgrade(db_settings)
    report = downgrade(db_settings, target=0)
    assert [step.version for step in report.steps] == PROJECT_VERSIONS[::-1]
    assert (report.from_version, report.to_version) == (LATEST, 0)
    assert catalog_snapshot() == empty


def test_the_no_transaction_migration_runs_outside_a_transaction(db_settings, query) -> None:
    steps = upgrade(db_settings, 5).steps
    # 0005 built its index concurrently, outside a transaction.
    assert query(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'payment_metrics_5m_updated_at_idx'::regclass"
    ) == [(True,)]
    steps += upgrade(db_settings).steps
    modes = {step.version: step.transactional for step in steps}
    assert modes == {version: version not in NO_TRANSACTION_VERSIONS for version in PROJECT_VERSIONS}
    assert NO_TRANSACTION_VERSIONS
    # 0010 dropped it the same way, and its down builds it again concurrently.
    assert query("SELECT to_regclass('payment_metrics_5m_updated_at_idx')") == [(None,)]
    downgrade(db_settings, target=9)
    assert query(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'payment_metrics_5m_updated_at_idx'::regclass"
    ) == [(True,)]
