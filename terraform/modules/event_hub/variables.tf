variable "name" {
  type        = string
  description = "Name of the Event Hubs namespace (globally unique, 6-50 characters)."

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{4,48}[a-zA-Z0-9]$", var.name))
    error_message = "name must be 6-50 letters, digits or hyphens, start with a letter and end with a letter or digit."
  }
}

variable "resource_group_name" {
  type        = string
  description = "Resource group that holds the namespace."
}

variable "location" {
  type        = string
  description = "Azure region of the namespace."
}

variable "sku" {
  type        = string
  description = "Namespace tier: Standard (consumer groups, auto-inflate) or Premium. Basic has no consumer groups besides $Default."
  default     = "Standard"

  validation {
    condition     = contains(["Standard", "Premium"], var.sku)
    error_message = "sku must be Standard or Premium."
  }
}

variable "capacity" {
  type        = number
  description = "Throughput units (Standard) or processing units (Premium)."
  default     = 1

  validation {
    condition     = var.capacity >= 1 && var.capacity <= 40
    error_message = "capacity must be between 1 and 40."
  }
}

variable "auto_inflate_enabled" {
  type        = bool
  description = "Let a Standard namespace raise its throughput units under load, up to maximum_throughput_units."
  default     = false
}

variable "maximum_throughput_units" {
  type        = number
  description = "Ceiling for auto-inflate; ignored when auto_inflate_enabled is false."
  default     = 1

  validation {
    condition     = var.maximum_throughput_units >= 1 && var.maximum_throughput_units <= 40
    error_message = "maximum_throughput_units must be between 1 and 40."
  }
}

variable "eventhub_name" {
  type        = string
  description = "Name of the event hub the simulator publishes payment events to."
  default     = "payments"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9._-]{0,255}$", var.eventhub_name))
    error_message = "eventhub_name must be 1-256 letters, digits, periods, hyphens or underscores."
  }
}

variable "partition_count" {
  type        = number
  description = "Partitions of the hub: the ceiling on parallel consumers. Fixed once created on Standard."
  default     = 4

  validation {
    condition     = var.partition_count >= 1 && var.partition_count <= 32
    error_message = "partition_count must be between 1 and 32 on a shared namespace."
  }
}

variable "message_retention_days" {
  type        = number
  description = "Days events stay readable (replay window)."
  default     = 1

  validation {
    condition     = var.message_retention_days >= 1 && var.message_retention_days <= 7
    error_message = "message_retention_days must be between 1 and 7 on a shared namespace."
  }
}

variable "consumer_group_name" {
  type        = string
  description = "Consumer group the Azure Function reads with."
  default     = "pipeline"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9._-]{0,49}$", var.consumer_group_name)) && var.consumer_group_name != "$Default"
    error_message = "consumer_group_name must be 1-50 letters, digits, periods, hyphens or underscores, and not $Default."
  }
}

variable "local_authentication_enabled" {
  type        = bool
  description = "Allow SAS keys. Off by default: producers and the function use Entra ID (RBAC)."
  default     = false
}

variable "public_network_access_enabled" {
  type        = bool
  description = "Reach the namespace over the internet (still RBAC-protected). Off needs a private endpoint."
  default     = true
}

variable "log_analytics_workspace_id" {
  type        = string
  description = "Log Analytics workspace that receives the namespace's logs and metrics (the backlog alert queries them)."
}

variable "diagnostic_setting_name" {
  type        = string
  description = "Name of the diagnostic setting that ships logs and metrics to Log Analytics."
}

variable "tags" {
  type        = map(string)
  description = "Tags for every taggable resource in this module."
}
