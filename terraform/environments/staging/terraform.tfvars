# staging: production's shape at a fraction of its size; zone-redundant storage, auto-inflate.
environment = "staging"
location    = "westeurope"
# Storage, Event Hubs, PostgreSQL and Function App names are global: set a short suffix if they collide.
name_suffix = ""

extra_tags = {
  cost_center = "payments-platform"
  owner       = "payments-team"
}

eventhub = {
  sku                      = "Standard"
  capacity                 = 2
  auto_inflate_enabled     = true
  maximum_throughput_units = 4
  partition_count          = 8
  message_retention_days   = 3
}

storage = {
  replication_type           = "ZRS"
  soft_delete_retention_days = 14
}

postgresql = {
  sku_name              = "GP_Standard_D2ds_v5"
  storage_mb            = 65536
  backup_retention_days = 14
  zone                  = "1"
  firewall_rules = {
    azure_services = { start_ip_address = "0.0.0.0", end_ip_address = "0.0.0.0" }
  }
}

# Replace the placeholder with your group's object ID (az ad group show --group NAME --query id -o tsv).
database_administrator = {
  object_id      = "00000000-0000-0000-0000-000000000000"
  principal_name = "paysim-staging-db-admins"
  principal_type = "Group"
}

function_app = {
  hosting_plan           = "flex_consumption"
  maximum_instance_count = 8
  instance_memory_in_mb  = 2048
}

monitoring = {
  retention_in_days           = 60
  daily_quota_gb              = 5
  function_failures_threshold = 5
  backlog_threshold           = 50000
}
