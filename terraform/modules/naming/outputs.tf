output "names" {
  description = "Resource names by kind (resource_group, eventhub_namespace, storage_account, postgresql_server, service_plan, function_app, log_analytics_workspace, application_insights, action_group, alert, diagnostic_setting)."
  value       = local.names
}

output "tags" {
  description = "The common tags every taggable resource carries."
  value       = local.tags
}

output "region_abbreviation" {
  description = "The short region code used in names."
  value       = local.region_abbreviations[var.location]
}
