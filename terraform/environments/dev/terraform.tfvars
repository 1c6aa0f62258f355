# dev: smallest sizes, scale to zero, public endpoints with Entra ID only.
environment = "dev"
location    = "westeurope"
# Storage, Event Hubs, PostgreSQL and Function App names are global: set a short suffix if they collide.
name_suffix = ""

extra_tags = {
  cost_center = "payments-platform"
  owner       = "payments-team"
}

eventhub = {
  sku                    = "Standard"
  capacity               = 1
  auto_inflate_enabled   = false
  partition_count        = 4
  message_retention_days = 1
}

storage = {
  replication_type           = "LRS"
  soft_delete_retention_days = 7
}

postgresql = {
  sku_name              = "B_Standard_B1ms"
  storage_mb            = 32768
  backup_retention_days = 7
  firewall_rules = {
    # 0.0.0.0 admits Azure services (the Function App); add your own address to run `paysim db` locally.
    azure_services = { start_ip_address = "0.0.0.0", end_ip_address = "0.0.0.0" }
  }
}

# The Entra ID group that administers PostgreSQL: replace the placeholder with your group's object ID
# (az ad group show --group "paysim-dev-db-admins" --query id -o tsv).
database_administrator = {
  object_id      = "00000000-0000-0000-0000-000000000000"
  principal_name = "paysim-dev-db-admins"
  principal_type = "Group"
}

function_app = {
  hosting_plan           = "flex_consumption"
  maximum_instance_count = 4
  instance_memory_in_mb  = 2048
}

monitoring = {
  retention_in_days           = 30
  daily_quota_gb              = 1
  function_failures_threshold = 10
  backlog_threshold           = 10000
}
