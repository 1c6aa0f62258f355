# The whole pipeline for one environment: every environment root calls this module with its own sizes,
# so dev, staging and production differ only in terraform.tfvars.
data "azurerm_client_config" "current" {}

module "naming" {
  source = "../naming"

  project     = var.project
  environment = var.environment
  location    = var.location
  suffix      = var.name_suffix
  extra_tags  = var.extra_tags
}

locals {
  names = module.naming.names
  tags  = module.naming.tags
}

resource "azurerm_resource_group" "this" {
  name     = local.names.resource_group
  location = var.location
  tags     = local.tags
}

module "monitoring" {
  source = "../monitoring"

  resource_group_name          = azurerm_resource_group.this.name
  location                     = var.location
  log_analytics_workspace_name = local.names.log_analytics_workspace
  application_insights_name    = local.names.application_insights
  action_group_name            = local.names.action_group
  alert_name_prefix            = local.names.alert
  retention_in_days            = var.monitoring.retention_in_days
  daily_quota_gb               = var.monitoring.daily_quota_gb
  alert_email_receivers        = var.monitoring.alert_email_receivers
  eventhub_namespace_id        = module.event_hub.namespace_id
  function_failures_threshold  = var.monitoring.function_failures_threshold
  backlog_threshold            = var.monitoring.backlog_threshold
  tags                         = local.tags
}

module "event_hub" {
  source = "../event_hub"

  name                       = local.names.eventhub_namespace
  resource_group_name        = azurerm_resource_group.this.name
  location                   = var.location
  sku                        = var.eventhub.sku
  capacity                   = var.eventhub.capacity
  auto_inflate_enabled       = var.eventhub.auto_inflate_enabled
  maximum_throughput_units   = var.eventhub.maximum_throughput_units
  partition_count            = var.eventhub.partition_count
  message_retention_days     = var.eventhub.message_retention_days
  log_analytics_workspace_id = module.monitoring.log_analytics_workspace_id
  diagnostic_setting_name    = local.names.diagnostic_setting
  tags                       = local.tags
}

module "storage_account" {
  source = "../storage_account"

  name                       = local.names.storage_account
  resource_group_name        = azurerm_resource_group.this.name
  location                   = var.location
  replication_type           = var.storage.replication_type
  soft_delete_retention_days = var.storage.soft_delete_retention_days
  log_analytics_workspace_id = module.monitoring.log_analytics_workspace_id
  diagnostic_setting_name    = local.names.diagnostic_setting
  tags                       = local.tags
}

module "postgresql" {
  source = "../postgresql"

  name                         = local.names.postgresql_server
  resource_group_name          = azurerm_resource_group.this.name
  location                     = var.location
  sku_name                     = var.postgresql.sku_name
  storage_mb                   = var.postgresql.storage_mb
  backup_retention_days        = var.postgresql.backup_retention_days
  geo_redundant_backup_enabled = var.postgresql.geo_redundant_backup_enabled
  zone                         = var.postgresql.zone
  high_availability            = var.postgresql.high_availability
  firewall_rules               = var.postgresql.firewall_rules
  delegated_subnet_id          = var.postgresql.delegated_subnet_id
  private_dns_zone_id          = var.postgresql.private_dns_zone_id
  entra_administrator          = var.database_administrator
  tenant_id                    = data.azurerm_client_config.current.tenant_id
  log_analytics_workspace_id   = module.monitoring.log_analytics_workspace_id
  diagnostic_setting_name      = local.names.diagnostic_setting
  tags                         = local.tags
}

locals {
  # libpq percent-decodes the user part of a URL; urlencode writes spaces as "+", which it would keep.
  database_host = "${module.postgresql.fqdn}:5432/${module.postgresql.database_name}?sslmode=require"
  operator_user = replace(urlencode(var.database_administrator.principal_name), "+", "%20")
  # The function signs in as its managed identity, whose PostgreSQL role is named after the app.
  function_database_url = "postgresql://${local.names.function_app}@${local.database_host}"
}

module "function_app" {
  source = "../function_app"

  name                                   = local.names.function_app
  service_plan_name                      = local.names.service_plan
  resource_group_name                    = azurerm_resource_group.this.name
  location                               = var.location
  hosting_plan                           = var.function_app.hosting_plan
  elastic_premium_sku                    = var.function_app.elastic_premium_sku
  minimum_instance_count                 = var.function_app.minimum_instance_count
  maximum_instance_count                 = var.function_app.maximum_instance_count
  instance_memory_in_mb                  = var.function_app.instance_memory_in_mb
  zone_balancing_enabled                 = var.function_app.zone_balancing_enabled
  worker_count                           = var.function_app.worker_count
  storage_account_name                   = module.storage_account.name
  storage_account_id                     = module.storage_account.id
  storage_blob_endpoint                  = module.storage_account.primary_blob_endpoint
  function_releases_container_name       = module.storage_account.function_releases_container_name
  eventhub_id                            = module.event_hub.eventhub_id
  eventhub_fully_qualified_namespace     = module.event_hub.fully_qualified_namespace
  application_insights_id                = module.monitoring.application_insights_id
  application_insights_connection_string = module.monitoring.application_insights_connection_string
  log_analytics_workspace_id             = module.monitoring.log_analytics_workspace_id
  diagnostic_setting_name                = local.names.diagnostic_setting
  tags                                   = local.tags

  # The same names the CLI reads as PAYSIM_* settings: endpoints only, every credential is the identity.
  # Terraform owns these, which follow from the resources above; the release settings are paysim function's
  # (ADR 0012, function_app's release_setting_names).
  app_settings = {
    PAYSIM_ENV                  = var.environment
    PAYSIM_EVENTHUB_NAMESPACE   = module.event_hub.fully_qualified_namespace
    PAYSIM_EVENTHUB_NAME        = module.event_hub.eventhub_name
    PAYSIM_CONSUMER_GROUP       = module.event_hub.consumer_group_name
    PAYSIM_DATABASE_URL         = local.function_database_url
    PAYSIM_DATABASE_AUTH        = "entra"
    PAYSIM_BLOB_ACCOUNT_URL     = module.storage_account.primary_blob_endpoint
    PAYSIM_RAW_EVENTS_CONTAINER = module.storage_account.raw_events_container_name
  }
}
