output "namespace_id" {
  description = "Resource ID of the Event Hubs namespace."
  value       = azurerm_eventhub_namespace.this.id
}

output "namespace_name" {
  description = "Name of the Event Hubs namespace."
  value       = azurerm_eventhub_namespace.this.name
}

output "fully_qualified_namespace" {
  description = "Host name clients connect to with Entra ID (<namespace>.servicebus.windows.net)."
  value       = "${azurerm_eventhub_namespace.this.name}.servicebus.windows.net"
}

output "eventhub_id" {
  description = "Resource ID of the event hub (scope of the function's Data Receiver role)."
  value       = azurerm_eventhub.this.id
}

output "eventhub_name" {
  description = "Name of the event hub."
  value       = azurerm_eventhub.this.name
}

output "consumer_group_name" {
  description = "Consumer group the function reads with."
  value       = azurerm_eventhub_consumer_group.this.name
}
