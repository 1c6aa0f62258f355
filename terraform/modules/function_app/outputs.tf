output "id" {
  description = "Resource ID of the Function App."
  value       = local.app_id
}

output "name" {
  description = "Name of the Function App (paysim function deploy targets it)."
  value       = local.app_name
}

output "default_hostname" {
  description = "Default host name of the Function App."
  value       = local.hostname
}

output "principal_id" {
  description = "Object ID of the app's system-assigned identity."
  value       = local.principal_id
}

output "release_setting_names" {
  description = "App settings `paysim function deploy` owns (ADR 0012): Terraform ignores them, a release file may set only these."
  value       = local.release_setting_names
}

output "hosting_plan" {
  description = "flex_consumption or elastic_premium."
  value       = var.hosting_plan
}
