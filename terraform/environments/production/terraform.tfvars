# production: zone-redundant everything, always-ready Elastic Premium, geo-redundant backups, alerts by e-mail.
environment = "production"
location    = "westeurope"
# Storage, Event Hubs, PostgreSQL and Function App names are global: set a short suffix if they collide.
name_suffix = ""

extra_tags = {
  cost_center = "payments-platform"
  owner       = "payments-team"
  criticality = "high"
}

eventhub = {
  sku                      = "Standard"
  capacity                 = 4
  auto_inflate_enabled     = true
  maximum_throughput_units = 20
  partition_count          = 32
  message_retention_days   = 7
}

storage = {
  replication_type           = "GZRS"
  soft_delete_retention_days = 30
}

postgresql = {
  sku_name                     = "GP_Standard_D4ds_v5"
  storage_mb                   = 131072
  backup_retention_days        = 35
  geo_redundant_backup_enabled = true
  zone                         = "1"
  high_availability = {
    standby_availability_zone = "2"
  }
  # For private access instead, set delegated_subnet_id and private_dns_zone_id (see terraform/README.md).
  firewall_rules = {
    azure_services = { start_ip_address = "0.0.0.0", end_ip_address = "0.0.0.0" }
  }
}

# Replace the placeholder with your group's object ID (az ad group show --group NAME --query id -o tsv).
database_administrator = {
  object_id      = "00000000-0000-0000-0000-000000000000"
  principal_name = "paysim-production-db-admins"
  principal_type = "Group"
}

# Zone-balanced: the plan needs worker_count >= 2, and Microsoft bills a zone-redundant Premium plan and its
# always-ready instances for at least 3 (one per West Europe zone; multiples of 3 spread evenly).
function_app = {
  hosting_plan           = "elastic_premium"
  elastic_premium_sku    = "EP2"
  worker_count           = 3
  minimum_instance_count = 3
  maximum_instance_count = 32
  zone_balancing_enabled = true
}

monitoring = {
  retention_in_days           = 90
  daily_quota_gb              = -1
  function_failures_threshold = 1
  backlog_threshold           = 100000
  alert_email_receivers = {
    on_call = "payments-oncall@example.com"
  }
}
