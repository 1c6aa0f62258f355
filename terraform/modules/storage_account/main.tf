locals {
  # Only what something here reads: the Event Hubs trigger keeps its checkpoints and leases in a container of
  # its own that the Functions host creates (azure-webjobs-eventhub), and `paysim pipeline run --source
  # eventhub` creates eventhub-checkpoints itself.
  containers = toset([
    var.raw_events_container_name,
    var.function_releases_container_name,
  ])
}

resource "azurerm_storage_account" "this" {
  #checkov:skip=CKV2_AZURE_1:Microsoft-managed keys (with infrastructure encryption) are enough for synthetic payment events; a CMK needs a Key Vault this stack does not own
  #checkov:skip=CKV2_AZURE_33:private endpoints need a VNet this stack does not own; access is Entra ID only (shared keys disabled)
  #checkov:skip=CKV_AZURE_59:the Function App reaches the account without VNet integration, so the public endpoint stays; shared keys and anonymous access are disabled
  #checkov:skip=CKV_AZURE_33:no queues are used; queue_properties is deprecated in azurerm 4.x
  name                              = var.name
  resource_group_name               = var.resource_group_name
  location                          = var.location
  account_kind                      = "StorageV2"
  account_tier                      = "Standard"
  account_replication_type          = var.replication_type
  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  allow_nested_items_to_be_public   = false
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  public_network_access_enabled     = var.public_network_access_enabled
  infrastructure_encryption_enabled = true
  tags                              = var.tags

  blob_properties {
    versioning_enabled = true

    delete_retention_policy {
      days = var.soft_delete_retention_days
    }

    container_delete_retention_policy {
      days = var.soft_delete_retention_days
    }
  }
}

resource "azurerm_storage_container" "this" {
  #checkov:skip=CKV2_AZURE_21:blob read logging is on through the diagnostic setting on the blob service below
  for_each = local.containers

  name                  = each.key
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

resource "azurerm_monitor_diagnostic_setting" "this" {
  name                       = var.diagnostic_setting_name
  target_resource_id         = "${azurerm_storage_account.this.id}/blobServices/default"
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category_group = "allLogs"
  }

  enabled_metric {
    category = "Transaction"
  }
}
