output "connection_profile" {
  description = "Endpoints and names for `paysim --env ENV`, keyed by paysim setting name. No secrets: every service takes an Entra ID token."
  value = {
    eventhub_namespace   = module.event_hub.fully_qualified_namespace
    eventhub_name        = module.event_hub.eventhub_name
    consumer_group       = module.event_hub.consumer_group_name
    database_url         = "postgresql://${local.operator_user}@${local.database_host}"
    database_auth        = "entra"
    blob_account_url     = module.storage_account.primary_blob_endpoint
    raw_events_container = module.storage_account.raw_events_container_name
    # Where `paysim health` (and the deploy gate) finds the Function App through Resource Manager.
    subscription_id   = data.azurerm_client_config.current.subscription_id
    resource_group    = azurerm_resource_group.this.name
    function_app_name = module.function_app.name
  }
}

output "resource_group_name" {
  description = "Resource group that holds the environment."
  value       = azurerm_resource_group.this.name
}

output "function_app_name" {
  description = "Function App that runs the pipeline."
  value       = module.function_app.name
}

output "function_app_principal_id" {
  description = "Object ID of the function's identity (grant it a PostgreSQL role named after the app)."
  value       = module.function_app.principal_id
}

output "function_release_setting_names" {
  description = "App settings `paysim function deploy` owns and Terraform ignores (ADR 0012)."
  value       = module.function_app.release_setting_names
}

output "postgresql_server_name" {
  description = "PostgreSQL Flexible Server name."
  value       = module.postgresql.name
}

output "storage_account_name" {
  description = "Storage account name."
  value       = module.storage_account.name
}
