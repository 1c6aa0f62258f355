output "id" {
  description = "Resource ID of the server."
  value       = azurerm_postgresql_flexible_server.this.id
}

output "name" {
  description = "Name of the server."
  value       = azurerm_postgresql_flexible_server.this.name
}

output "fqdn" {
  description = "Host name clients connect to."
  value       = azurerm_postgresql_flexible_server.this.fqdn
}

output "database_name" {
  description = "The pipeline's database."
  value       = azurerm_postgresql_flexible_server_database.this.name
}

output "administrator_principal_name" {
  description = "Entra ID principal that administers the server (the user name in an Entra connection)."
  value       = azurerm_postgresql_flexible_server_active_directory_administrator.this.principal_name
}
