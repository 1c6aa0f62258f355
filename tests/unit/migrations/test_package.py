"""The migrations package loads its engine on first use, so `paysim --help` stays fast."""

from __future__ import annotations

import subprocess
import sys

import pytest

from paysim_cli import migrations
from paysim_cli.migrations import engine


def test_the_cli_does_not_import_the_engine_or_the_database_layer_until_a_command_runs() -> None:
    heavy = "{'paysim_cli.migrations.engine', 'paysim_cli.db'}"
    probe = f"import sys, paysim_cli.app; print(sorted({heavy} & set(sys.modules)))"
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"


def test_the_operations_are_the_engines() -> None:
    assert migrations.upgrade is engine.upgrade
    with pytest.raises(AttributeError, match="has no attribute 'upgrades'"):
        _ = migrations.upgrades
