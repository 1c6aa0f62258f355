locals {
  flex = var.hosting_plan == "flex_consumption"

  # Identity-based connections: the app reaches Event Hubs, Storage and Application Insights with its
  # system-assigned identity, so no setting holds a key.
  connection_settings = {
    EventHubConnection__fullyQualifiedNamespace = var.eventhub_fully_qualified_namespace
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING   = "Authorization=AAD"
  }
  # Host storage (AzureWebJobsStorage, which also holds the Event Hubs trigger's checkpoints and leases) through
  # the identity on both plans; on Elastic Premium, storage_uses_managed_identity writes the account name.
  host_storage_settings = {
    AzureWebJobsStorage__credential = "managedidentity"
  }
  # Flex Consumption: azurerm writes AzureWebJobsStorage = "...;AccountKey=;..." on every create and update,
  # whatever storage_authentication_type says (azurerm issue #29693), and the host would try that keyless
  # connection string first. A user setting whose name matches it ignoring case replaces it; the provider's
  # read drops only the exact name "AzureWebJobsStorage", so the blank is spelled in lower case to stay in
  # state: no perpetual diff (#33211), and no keyed value back on the next update as with ignore_changes.
  flex_host_storage_settings = {
    AzureWebJobsStorage__accountName = var.storage_account_name
    azurewebjobsstorage              = ""
  }
  app_settings = merge(
    local.connection_settings,
    local.host_storage_settings,
    local.flex ? local.flex_host_storage_settings : {},
    var.app_settings,
  )

  # The settings a release carries, owned by `paysim function deploy` (ADR 0012): Terraform never writes them
  # and ignores them, so a deploy's values survive `paysim infra up`. ignore_changes takes no expressions, so
  # both apps list the same names literally; a test keeps the three lists equal.
  release_setting_names = [
    "PAYSIM_BLOB_ATTEMPTS",
    "PAYSIM_BLOB_BACKOFF_SECONDS",
    "PAYSIM_MAX_EVENT_AGE_SECONDS",
    "PAYSIM_MAX_EVENT_BYTES",
    "PAYSIM_MAX_EVENT_SKEW_SECONDS",
    "PAYSIM_RULES_FILE",
    "PAYSIM_WINDOW_SECONDS",
  ]

  principal_id = local.flex ? azurerm_function_app_flex_consumption.this[0].identity[0].principal_id : azurerm_linux_function_app.this[0].identity[0].principal_id
  app_name     = local.flex ? azurerm_function_app_flex_consumption.this[0].name : azurerm_linux_function_app.this[0].name
  app_id       = local.flex ? azurerm_function_app_flex_consumption.this[0].id : azurerm_linux_function_app.this[0].id
  hostname     = local.flex ? azurerm_function_app_flex_consumption.this[0].default_hostname : azurerm_linux_function_app.this[0].default_hostname

  # Microsoft's roles for identity-based host storage: Storage Blob Data Owner (the host, and the Event Hubs
  # trigger's checkpoints and leases), Storage Table Data Contributor (the host's diagnostic events). Blob Data
  # Owner also covers the package container and raw-events.
  role_assignments = {
    event_hubs_data_receiver       = { role = "Azure Event Hubs Data Receiver", scope = var.eventhub_id }
    storage_blob_data_owner        = { role = "Storage Blob Data Owner", scope = var.storage_account_id }
    storage_table_data_contributor = { role = "Storage Table Data Contributor", scope = var.storage_account_id }
    monitoring_metrics_publisher   = { role = "Monitoring Metrics Publisher", scope = var.application_insights_id }
  }
}

resource "azurerm_service_plan" "this" {
  #checkov:skip=CKV_AZURE_212:the instance floor is per environment (worker_count, at least 2 with zone balancing); Flex Consumption scales from zero by design
  name                = var.service_plan_name
  resource_group_name = var.resource_group_name
  location            = var.location
  os_type             = "Linux"
  sku_name            = local.flex ? "FC1" : var.elastic_premium_sku
  # Elastic Premium only: the plan's instance count (the provider enables zone balancing only above 1) and its
  # scale-out ceiling; Flex Consumption scales per app.
  worker_count                 = local.flex ? null : var.worker_count
  maximum_elastic_worker_count = local.flex ? null : var.maximum_instance_count
  zone_balancing_enabled       = local.flex ? false : var.zone_balancing_enabled
  tags                         = var.tags
}

resource "azurerm_function_app_flex_consumption" "this" {
  count = local.flex ? 1 : 0

  name                                           = var.name
  resource_group_name                            = var.resource_group_name
  location                                       = var.location
  service_plan_id                                = azurerm_service_plan.this.id
  runtime_name                                   = "python"
  runtime_version                                = "3.11"
  storage_container_type                         = "blobContainer"
  storage_container_endpoint                     = "${var.storage_blob_endpoint}${var.function_releases_container_name}"
  storage_authentication_type                    = "SystemAssignedIdentity"
  maximum_instance_count                         = var.maximum_instance_count
  instance_memory_in_mb                          = var.instance_memory_in_mb
  https_only                                     = true
  webdeploy_publish_basic_authentication_enabled = false
  app_settings                                   = local.app_settings
  tags                                           = var.tags

  identity {
    type = "SystemAssigned"
  }

  site_config {
    application_insights_connection_string = var.application_insights_connection_string
    minimum_tls_version                    = "1.2"
    http2_enabled                          = true
  }

  lifecycle {
    # The release settings (local.release_setting_names): owned by `paysim function deploy`.
    ignore_changes = [
      app_settings["PAYSIM_BLOB_ATTEMPTS"],
      app_settings["PAYSIM_BLOB_BACKOFF_SECONDS"],
      app_settings["PAYSIM_MAX_EVENT_AGE_SECONDS"],
      app_settings["PAYSIM_MAX_EVENT_BYTES"],
      app_settings["PAYSIM_MAX_EVENT_SKEW_SECONDS"],
      app_settings["PAYSIM_RULES_FILE"],
      app_settings["PAYSIM_WINDOW_SECONDS"],
    ]
  }
}

resource "azurerm_linux_function_app" "this" {
  #checkov:skip=CKV_AZURE_221:the function has no HTTP trigger to expose, but SCM deployment from CI needs the public endpoint; a private endpoint needs a VNet this stack does not own
  count = local.flex ? 0 : 1

  name                                           = var.name
  resource_group_name                            = var.resource_group_name
  location                                       = var.location
  service_plan_id                                = azurerm_service_plan.this.id
  storage_account_name                           = var.storage_account_name
  storage_uses_managed_identity                  = true
  content_share_force_disabled                   = true
  functions_extension_version                    = "~4"
  builtin_logging_enabled                        = false
  https_only                                     = true
  ftp_publish_basic_authentication_enabled       = false
  webdeploy_publish_basic_authentication_enabled = false
  app_settings                                   = local.app_settings
  tags                                           = var.tags

  identity {
    type = "SystemAssigned"
  }

  site_config {
    application_insights_connection_string = var.application_insights_connection_string
    elastic_instance_minimum               = var.minimum_instance_count
    runtime_scale_monitoring_enabled       = true
    ftps_state                             = "Disabled"
    minimum_tls_version                    = "1.2"
    http2_enabled                          = true

    application_stack {
      python_version = "3.11"
    }
  }

  lifecycle {
    # The release settings (local.release_setting_names): owned by `paysim function deploy`.
    ignore_changes = [
      app_settings["PAYSIM_BLOB_ATTEMPTS"],
      app_settings["PAYSIM_BLOB_BACKOFF_SECONDS"],
      app_settings["PAYSIM_MAX_EVENT_AGE_SECONDS"],
      app_settings["PAYSIM_MAX_EVENT_BYTES"],
      app_settings["PAYSIM_MAX_EVENT_SKEW_SECONDS"],
      app_settings["PAYSIM_RULES_FILE"],
      app_settings["PAYSIM_WINDOW_SECONDS"],
    ]
  }
}

resource "azurerm_role_assignment" "this" {
  for_each = local.role_assignments

  scope                = each.value.scope
  role_definition_name = each.value.role
  principal_id         = local.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_monitor_diagnostic_setting" "this" {
  name                       = var.diagnostic_setting_name
  target_resource_id         = local.app_id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category = "FunctionAppLogs"
  }

  enabled_metric {
    category = "AllMetrics"
  }
}
