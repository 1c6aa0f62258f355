variable "name" {
  type        = string
  description = "Name of the PostgreSQL Flexible Server (globally unique, 3-63 lowercase letters, digits, hyphens)."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.name))
    error_message = "name must be 3-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen."
  }
}

variable "resource_group_name" {
  type        = string
  description = "Resource group that holds the server."
}

variable "location" {
  type        = string
  description = "Azure region of the server."
}

variable "postgresql_version" {
  type        = string
  description = "Major PostgreSQL version."
  default     = "16"

  validation {
    condition     = contains(["15", "16", "17"], var.postgresql_version)
    error_message = "postgresql_version must be 15, 16 or 17."
  }
}

variable "sku_name" {
  type        = string
  description = "Compute tier and size, e.g. B_Standard_B1ms (dev), GP_Standard_D2ds_v5, MO_Standard_E4ds_v5."

  validation {
    condition     = can(regex("^(B|GP|MO)_Standard_[A-Za-z0-9_]+$", var.sku_name))
    error_message = "sku_name must look like B_Standard_B1ms, GP_Standard_D2ds_v5 or MO_Standard_E4ds_v5."
  }
}

variable "storage_mb" {
  type        = number
  description = "Storage size in MB."
  default     = 32768

  validation {
    condition = contains([
      32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4193280, 4194304, 8388608, 16777216, 33553408,
    ], var.storage_mb)
    error_message = "storage_mb must be one of the sizes Flexible Server offers (32768 ... 33553408)."
  }
}

variable "backup_retention_days" {
  type        = number
  description = "Days of point-in-time restore."
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 7 and 35."
  }
}

variable "geo_redundant_backup_enabled" {
  type        = bool
  description = "Copy backups to the paired region (cannot change after creation)."
  default     = false
}

variable "zone" {
  type        = string
  description = "Availability zone of the primary server; null lets Azure choose."
  default     = null

  validation {
    condition     = var.zone == null || contains(["1", "2", "3"], coalesce(var.zone, "1"))
    error_message = "zone must be 1, 2, 3 or null."
  }
}

variable "high_availability" {
  type = object({
    standby_availability_zone = optional(string)
  })
  description = "Zone-redundant high availability (a hot standby in another zone); null turns it off. Not available on the Burstable (B_) tier."
  default     = null
}

variable "database_name" {
  type        = string
  description = "The pipeline's database."
  default     = "paysim"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be a lowercase PostgreSQL identifier of at most 63 characters."
  }
}

variable "entra_administrator" {
  type = object({
    object_id      = string
    principal_name = string
    principal_type = string
  })
  description = "The Entra ID principal (preferably a group) that administers the server; password authentication is disabled."

  validation {
    condition     = contains(["Group", "User", "ServicePrincipal"], var.entra_administrator.principal_type)
    error_message = "entra_administrator.principal_type must be Group, User or ServicePrincipal."
  }

  validation {
    condition = (
      can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", lower(var.entra_administrator.object_id)))
      && var.entra_administrator.object_id != "00000000-0000-0000-0000-000000000000"
    )
    error_message = "entra_administrator.object_id must be a real Entra ID object ID: replace the placeholder in terraform.tfvars."
  }
}

variable "tenant_id" {
  type        = string
  description = "Entra ID tenant of the administrator."
}

variable "firewall_rules" {
  type = map(object({
    start_ip_address = string
    end_ip_address   = string
  }))
  description = "Public access: named IPv4 ranges allowed to connect. 0.0.0.0-0.0.0.0 admits Azure services (the Function App). Ignored with private access."
  default     = {}
}

variable "delegated_subnet_id" {
  type        = string
  description = "Private access: a subnet delegated to Microsoft.DBforPostgreSQL/flexibleServers; null keeps public access with firewall rules."
  default     = null
}

variable "private_dns_zone_id" {
  type        = string
  description = "Private access: the privatelink.postgres.database.azure.com zone linked to the VNet. Required with delegated_subnet_id."
  default     = null
}

variable "log_analytics_workspace_id" {
  type        = string
  description = "Log Analytics workspace that receives the server's logs and metrics."
}

variable "diagnostic_setting_name" {
  type        = string
  description = "Name of the diagnostic setting on the server."
}

variable "tags" {
  type        = map(string)
  description = "Tags for every taggable resource in this module."
}
