output "id" {
  description = "Resource ID of the storage account (scope of the function's Blob Data Owner and Table Data Contributor roles)."
  value       = azurerm_storage_account.this.id
}

output "name" {
  description = "Name of the storage account (AzureWebJobsStorage__accountName)."
  value       = azurerm_storage_account.this.name
}

output "primary_blob_endpoint" {
  description = "Blob service URL clients use with Entra ID."
  value       = azurerm_storage_account.this.primary_blob_endpoint
}

output "raw_events_container_name" {
  description = "Container for raw event batches."
  value       = azurerm_storage_container.this[var.raw_events_container_name].name
}

output "function_releases_container_name" {
  description = "Container the Function App deploys from."
  value       = azurerm_storage_container.this[var.function_releases_container_name].name
}
