variable "project" {
  type        = string
  description = "Short project name used in every resource name and the project tag."
  default     = "paysim"
}

variable "environment" {
  type        = string
  description = "Environment name: dev, staging or production."
}

variable "location" {
  type        = string
  description = "Azure region for every resource (programmatic name, e.g. westeurope)."
}

variable "name_suffix" {
  type        = string
  description = "Optional short suffix that keeps globally unique names unique to your organisation."
  default     = ""
}

variable "extra_tags" {
  type        = map(string)
  description = "Tags merged over the common tags on every taggable resource (e.g. cost_center, owner)."
  default     = {}
}

variable "eventhub" {
  type = object({
    sku                      = optional(string, "Standard")
    capacity                 = optional(number, 1)
    auto_inflate_enabled     = optional(bool, false)
    maximum_throughput_units = optional(number, 1)
    partition_count          = optional(number, 4)
    message_retention_days   = optional(number, 1)
  })
  description = "Event Hubs sizing: namespace SKU, throughput units, auto-inflate, partitions, retention."
  default     = {}
}

variable "storage" {
  type = object({
    replication_type           = optional(string, "LRS")
    soft_delete_retention_days = optional(number, 7)
  })
  description = "Storage redundancy and soft-delete window."
  default     = {}
}

variable "postgresql" {
  type = object({
    sku_name                     = string
    storage_mb                   = optional(number, 32768)
    backup_retention_days        = optional(number, 7)
    geo_redundant_backup_enabled = optional(bool, false)
    zone                         = optional(string)
    high_availability = optional(object({
      standby_availability_zone = optional(string)
    }))
    firewall_rules = optional(map(object({
      start_ip_address = string
      end_ip_address   = string
    })), {})
    delegated_subnet_id = optional(string)
    private_dns_zone_id = optional(string)
  })
  description = "PostgreSQL Flexible Server sizing, backups, high availability and network access."
}

variable "database_administrator" {
  type = object({
    object_id      = string
    principal_name = string
    principal_type = optional(string, "Group")
  })
  description = "Entra ID principal (a group, preferably) that administers PostgreSQL; its name is the user in the connection profile."
}

variable "function_app" {
  type = object({
    hosting_plan           = optional(string, "flex_consumption")
    elastic_premium_sku    = optional(string, "EP1")
    minimum_instance_count = optional(number, 1)
    maximum_instance_count = optional(number, 10)
    instance_memory_in_mb  = optional(number, 2048)
    zone_balancing_enabled = optional(bool, false)
    worker_count           = optional(number, 1)
  })
  description = "Function App hosting: flex_consumption or elastic_premium, its scale limits, and the Elastic Premium plan's instance count (at least 2 with zone balancing)."
  default     = {}
}

variable "monitoring" {
  type = object({
    retention_in_days           = optional(number, 30)
    daily_quota_gb              = optional(number, -1)
    alert_email_receivers       = optional(map(string), {})
    function_failures_threshold = optional(number, 5)
    backlog_threshold           = optional(number, 10000)
  })
  description = "Log retention, ingestion cap, alert recipients and alert thresholds."
  default     = {}
}
