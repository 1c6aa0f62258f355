"""Counting a saved plan's changes the way Terraform's own summary line does."""

from __future__ import annotations

from paysim_cli.infra.plan import summarize_plan


def _change(address: str, *actions: str) -> dict[str, object]:
    resource_type = address.split(".")[-2]
    return {"address": address, "type": resource_type, "change": {"actions": list(actions)}}


def test_counts_add_change_destroy_by_resource_type() -> None:
    summary = summarize_plan(
        {
            "resource_changes": [
                _change("module.a.azurerm_storage_account.this", "create"),
                _change("module.a.azurerm_storage_container.this", "create"),
                _change("module.b.azurerm_storage_container.other", "update"),
                _change("azurerm_eventhub.this", "delete", "create"),
                _change("azurerm_resource_group.this", "no-op"),
                _change("data.azurerm_client_config.current", "read"),
                _change("azurerm_role_assignment.this", "delete"),
            ]
        }
    )

    assert (summary.add, summary.change, summary.destroy) == (3, 1, 2)
    assert [(row.type, row.add, row.change, row.destroy) for row in summary.by_type] == [
        ("azurerm_eventhub", 1, 0, 1),
        ("azurerm_role_assignment", 0, 0, 1),
        ("azurerm_storage_account", 1, 0, 0),
        ("azurerm_storage_container", 1, 1, 0),
    ]
    assert summary.headline() == "3 to add, 1 to change, 2 to destroy"
    replaced = next(r for r in summary.resources if r.address == "azurerm_eventhub.this")
    assert replaced.actions == ("add", "destroy")
    assert "azurerm_resource_group.this" not in {r.address for r in summary.resources}


def test_a_plan_without_changes() -> None:
    summary = summarize_plan({"format_version": "1.2"})

    assert not summary.has_changes
    assert summary.by_type == ()
    assert summary.headline() == "0 to add, 0 to change, 0 to destroy"
