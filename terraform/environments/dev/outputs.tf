output "connection_profile" {
  description = "Endpoints and names keyed by paysim setting; `paysim infra output` writes them to the environment's connection profile."
  value       = module.pipeline.connection_profile
}

output "resource_group_name" {
  description = "Resource group that holds the environment."
  value       = module.pipeline.resource_group_name
}

output "function_app_name" {
  description = "Function App that runs the pipeline."
  value       = module.pipeline.function_app_name
}

output "function_app_principal_id" {
  description = "Object ID of the function's identity."
  value       = module.pipeline.function_app_principal_id
}

output "function_release_setting_names" {
  description = "App settings `paysim function deploy` owns and Terraform ignores (ADR 0012)."
  value       = module.pipeline.function_release_setting_names
}

output "postgresql_server_name" {
  description = "PostgreSQL Flexible Server name."
  value       = module.pipeline.postgresql_server_name
}

output "storage_account_name" {
  description = "Storage account name."
  value       = module.pipeline.storage_account_name
}
