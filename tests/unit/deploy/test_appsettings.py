"""Release settings files: only release-owned names, a diff of added/changed/removed with secrets masked,
Key Vault references untouched, and the merge that keeps every Terraform-owned setting."""

from __future__ import annotations

from pathlib import Path

import hcl2
import orjson
import pytest

from paysim_cli.deploy.appsettings import (
    RELEASE_SETTING_NAMES,
    ChangeKind,
    diff_settings,
    load_release_settings,
    masked,
    merged_settings,
)
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.secrets import MASK

ROOT = Path(__file__).resolve().parents[3]
KEY_VAULT = "@Microsoft.KeyVault(SecretUri=https://kv-paysim.vault.azure.net/secrets/rules/)"


def _write(path: Path, document: object) -> Path:
    path.write_bytes(orjson.dumps(document))
    return path


def test_the_names_are_the_terraform_modules_release_setting_names() -> None:
    with (ROOT / "terraform" / "modules" / "function_app" / "main.tf").open() as handle:
        document = hcl2.load(handle)
    (locals_block,) = [block for block in document["locals"] if "release_setting_names" in block]
    names = {name.strip('"') for name in locals_block["release_setting_names"]}
    assert names == RELEASE_SETTING_NAMES


def test_every_environments_settings_file_loads() -> None:
    for env in ("local", "dev", "staging", "production"):
        values = load_release_settings(ROOT / "function" / "settings" / f"{env}.json")
        assert set(values) <= RELEASE_SETTING_NAMES
        assert values["PAYSIM_WINDOW_SECONDS"] == "300"


def test_numbers_become_text_and_a_missing_file_sets_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path / "dev.json", {"PAYSIM_BLOB_ATTEMPTS": 6, "PAYSIM_BLOB_BACKOFF_SECONDS": 0.25})
    assert load_release_settings(path) == {"PAYSIM_BLOB_ATTEMPTS": "6", "PAYSIM_BLOB_BACKOFF_SECONDS": "0.25"}
    assert load_release_settings(tmp_path / "missing.json") == {}


@pytest.mark.parametrize(
    ("document", "code", "words"),
    [
        ({"PAYSIM_DATABASE_URL": "postgresql://x"}, "release_setting_not_owned", "PAYSIM_DATABASE_URL"),
        ({"AzureWebJobsStorage": "x"}, "release_setting_not_owned", "Terraform owns"),
        (["PAYSIM_WINDOW_SECONDS"], "invalid_settings_file", "JSON object"),
        ({"PAYSIM_WINDOW_SECONDS": True}, "invalid_settings_file", "not bool"),
        ({"PAYSIM_WINDOW_SECONDS": {"v": 1}}, "invalid_settings_file", "not dict"),
    ],
)
def test_a_file_naming_anything_else_or_malformed_is_refused(
    tmp_path: Path, document: object, code: str, words: str
) -> None:
    with pytest.raises(PaysimError) as raised:
        load_release_settings(_write(tmp_path / "dev.json", document))
    assert (raised.value.code, raised.value.exit_code) == (code, ExitCode.CONFIG)
    assert words in raised.value.message + (raised.value.hint or "")


def test_invalid_json_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dev.json").write_text("{nope")
    with pytest.raises(PaysimError) as raised:
        load_release_settings(tmp_path / "dev.json")
    assert raised.value.code == "invalid_settings_file"


def test_the_diff_names_added_changed_and_removed_and_masks_secrets() -> None:
    sas = "https://acct.blob.core.windows.net/rules/r.yaml?sv=2024&sig=s3cr3t%2Bsig"
    current = {
        "PAYSIM_WINDOW_SECONDS": "300",
        "PAYSIM_BLOB_ATTEMPTS": "4",
        "PAYSIM_RULES_FILE": sas,
        "PAYSIM_DATABASE_URL": "postgresql://u:hunter2@db/paysim",
        "EventHubConnection__fullyQualifiedNamespace": "ns.servicebus.windows.net",
    }
    release = {"PAYSIM_WINDOW_SECONDS": "60", "PAYSIM_MAX_EVENT_BYTES": "65536", "PAYSIM_BLOB_ATTEMPTS": "4"}
    diff = diff_settings(current, release, "dev.json")
    changes = {change.name: change for change in diff.changes}
    assert changes["PAYSIM_WINDOW_SECONDS"].change is ChangeKind.CHANGED
    assert (changes["PAYSIM_WINDOW_SECONDS"].before, changes["PAYSIM_WINDOW_SECONDS"].after) == ("300", "60")
    assert changes["PAYSIM_MAX_EVENT_BYTES"].change is ChangeKind.ADDED
    removed = changes["PAYSIM_RULES_FILE"]
    assert (removed.change, removed.after) == (ChangeKind.REMOVED, None)
    assert "s3cr3t" not in str(removed.before)
    assert f"sig={MASK}" in str(removed.before)
    assert diff.unchanged == ["PAYSIM_BLOB_ATTEMPTS"]
    assert diff.untouched == 2  # Terraform's, never in the diff, never printed
    assert "hunter2" not in diff.model_dump_json()


def test_secret_names_are_masked_whole_and_key_vault_references_are_shown_as_they_are() -> None:
    assert masked("SOME_ACCOUNT_KEY", "abc") == MASK
    assert masked("APPLICATIONINSIGHTS_CONNECTION_STRING", "InstrumentationKey=1") == MASK
    assert masked("PAYSIM_RULES_FILE", KEY_VAULT) == KEY_VAULT
    assert masked("MY_SECRET", KEY_VAULT) == KEY_VAULT
    assert masked("PAYSIM_WINDOW_SECONDS", None) is None


def test_the_merge_keeps_terraforms_settings_and_key_vault_references_exactly() -> None:
    current = {
        "PAYSIM_DATABASE_URL": "postgresql://func@db/paysim",
        "AzureWebJobsStorage__accountName": "stpaysim",
        "azurewebjobsstorage": "",
        "PAYSIM_RULES_FILE": "/old/rules.yaml",
        "PAYSIM_WINDOW_SECONDS": "300",
    }
    merged = merged_settings(current, {"PAYSIM_RULES_FILE": KEY_VAULT})
    assert merged == {
        "PAYSIM_DATABASE_URL": "postgresql://func@db/paysim",
        "AzureWebJobsStorage__accountName": "stpaysim",
        "azurewebjobsstorage": "",
        "PAYSIM_RULES_FILE": KEY_VAULT,  # the platform resolves it; paysim passes it through
    }
