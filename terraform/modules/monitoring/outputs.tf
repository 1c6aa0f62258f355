output "log_analytics_workspace_id" {
  description = "Resource ID of the Log Analytics workspace (diagnostic settings send here)."
  value       = azurerm_log_analytics_workspace.this.id
}

output "application_insights_id" {
  description = "Resource ID of Application Insights (scope of the function's Monitoring Metrics Publisher role)."
  value       = azurerm_application_insights.this.id
}

output "application_insights_connection_string" {
  description = "Application Insights endpoint and key; ingestion needs an Entra ID token because local authentication is disabled."
  value       = azurerm_application_insights.this.connection_string
  sensitive   = true
}

output "action_group_id" {
  description = "Resource ID of the action group."
  value       = azurerm_monitor_action_group.this.id
}

output "pipeline_workbook_id" {
  description = "Resource ID of the pipeline's Azure Monitor workbook."
  value       = azurerm_application_insights_workbook.this.id
}
