"""docs/troubleshooting.md covers every code paysim can report: each `ExitCode`, each pipeline
`ErrorCode` (failed_items.error_code) and each error code a command can fail with. A code added to the
source without an entry fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from error_codes import PROJECT, CodeSite, error_codes

from paysim_cli.errors import ExitCode
from paysim_pipeline.rejection import ErrorCode

TROUBLESHOOTING = PROJECT / "docs" / "troubleshooting.md"


def documented_codes(path: Path = TROUBLESHOOTING) -> set[str]:
    """The codes the page documents: each `code` that starts a table row or a heading."""
    text = path.read_text(encoding="utf-8")
    return set(re.findall(r"^(?:\|\s*|#+\s+)`([a-z][a-z0-9_]*)`", text, re.MULTILINE))


def exit_code_rows(path: Path = TROUBLESHOOTING) -> set[tuple[int, str]]:
    """(number, NAME) of each row of the exit-code table: `| 7 | `VERIFY_FAILED` | ...`."""
    text = path.read_text(encoding="utf-8")
    return {(int(number), name) for number, name in re.findall(r"^\|\s*(\d+)\s*\|\s*`([A-Z_]+)`", text, re.M)}


def test_every_exit_code_has_a_row_with_its_number_and_name() -> None:
    missing = {(code.value, code.name) for code in ExitCode} - exit_code_rows()
    assert not missing, f"exit codes missing from {TROUBLESHOOTING.name}: {sorted(missing)}"


def test_every_failed_item_error_code_is_documented() -> None:
    missing = {code.value for code in ErrorCode} - documented_codes()
    assert not missing, f"failed-item codes missing from {TROUBLESHOOTING.name}: {sorted(missing)}"


def test_every_error_code_in_the_source_is_documented() -> None:
    sites = error_codes()
    missing = sorted({str(site) for site in sites if site.code not in documented_codes()})
    assert not missing, f"error codes missing from {TROUBLESHOOTING.name}:\n" + "\n".join(missing)


def test_codes_are_found_however_they_are_raised() -> None:
    codes = {site.code for site in error_codes()}
    assert "database_unreachable" in codes  # PaysimError("database_unreachable", ...)
    assert "migration_failed" in codes  # a subclass: SqlFileError("migration_failed", ...)
    assert "reconciliation_failed" in codes  # super().__init__("reconciliation_failed", ...) in a subclass
    assert {"azurite_failed", "azurite_start_timeout"} <= codes  # f"{code}_failed", code="azurite"


@pytest.mark.parametrize(
    ("page", "documented"),
    [
        ("| `stale_plan` | the plan ... |\n", {"stale_plan"}),
        ("### `rolled_back`\n", {"rolled_back"}),
        ("mentions `stale_plan` in a sentence\n", set()),
    ],
)
def test_a_code_counts_where_it_heads_a_row_or_a_section(
    tmp_path: Path, page: str, documented: set[str]
) -> None:
    path = tmp_path / "page.md"
    path.write_text(page)
    assert documented_codes(path) == documented


def test_a_code_site_names_where_it_is_raised() -> None:
    site = CodeSite("stale_plan", PROJECT / "paysim_cli" / "infra" / "terraform.py", 120)
    assert str(site) == "stale_plan (paysim_cli/infra/terraform.py:120)"
