variable "name" {
  type        = string
  description = "Storage account name (globally unique, 3-24 lowercase letters and digits)."

  validation {
    condition     = can(regex("^[a-z0-9]{3,24}$", var.name))
    error_message = "name must be 3-24 lowercase letters or digits."
  }
}

variable "resource_group_name" {
  type        = string
  description = "Resource group that holds the account."
}

variable "location" {
  type        = string
  description = "Azure region of the account."
}

variable "replication_type" {
  type        = string
  description = "Redundancy: LRS for dev, ZRS or GZRS as environments grow."
  default     = "LRS"

  validation {
    condition     = contains(["LRS", "ZRS", "GRS", "RAGRS", "GZRS", "RAGZRS"], var.replication_type)
    error_message = "replication_type must be one of LRS, ZRS, GRS, RAGRS, GZRS, RAGZRS."
  }
}

variable "soft_delete_retention_days" {
  type        = number
  description = "Days deleted blobs and containers stay recoverable."
  default     = 7

  validation {
    condition     = var.soft_delete_retention_days >= 1 && var.soft_delete_retention_days <= 365
    error_message = "soft_delete_retention_days must be between 1 and 365."
  }
}

variable "raw_events_container_name" {
  type        = string
  description = "Container for raw event batches, one blob per processed batch."
  default     = "raw-events"
}

variable "function_releases_container_name" {
  type        = string
  description = "Container the Function App deploys its packages from."
  default     = "function-releases"
}

variable "public_network_access_enabled" {
  type        = bool
  description = "Reach the account over the internet (Entra ID only: shared keys are disabled)."
  default     = true
}

variable "log_analytics_workspace_id" {
  type        = string
  description = "Log Analytics workspace that receives the blob service's logs and metrics."
}

variable "diagnostic_setting_name" {
  type        = string
  description = "Name of the diagnostic setting on the blob service."
}

variable "tags" {
  type        = map(string)
  description = "Tags for every taggable resource in this module."
}
