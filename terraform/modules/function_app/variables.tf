variable "name" {
  type        = string
  description = "Name of the Function App (globally unique host name, at most 32 characters to avoid host ID collisions)."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,30}[a-z0-9]$", var.name))
    error_message = "name must be 2-32 lowercase letters, digits or hyphens, not starting or ending with a hyphen."
  }
}

variable "service_plan_name" {
  type        = string
  description = "Name of the App Service plan the function runs on."
}

variable "resource_group_name" {
  type        = string
  description = "Resource group that holds the plan and the app."
}

variable "location" {
  type        = string
  description = "Azure region of the plan and the app."
}

variable "hosting_plan" {
  type        = string
  description = "flex_consumption (FC1: scale to zero, per-execution billing) or elastic_premium (EP: always-ready instances, VNet)."
  default     = "flex_consumption"

  validation {
    condition     = contains(["flex_consumption", "elastic_premium"], var.hosting_plan)
    error_message = "hosting_plan must be flex_consumption or elastic_premium."
  }
}

variable "elastic_premium_sku" {
  type        = string
  description = "Plan size when hosting_plan is elastic_premium."
  default     = "EP1"

  validation {
    condition     = contains(["EP1", "EP2", "EP3"], var.elastic_premium_sku)
    error_message = "elastic_premium_sku must be EP1, EP2 or EP3."
  }
}

variable "minimum_instance_count" {
  type        = number
  description = "Always-ready instances on Elastic Premium (ignored on Flex Consumption, which scales to zero)."
  default     = 1

  validation {
    condition     = var.minimum_instance_count >= 1 && var.minimum_instance_count <= 20
    error_message = "minimum_instance_count must be between 1 and 20."
  }
}

variable "maximum_instance_count" {
  type        = number
  description = "Scale-out ceiling: keep it near the partition count, since each partition has one reader at a time."
  default     = 10

  validation {
    condition     = var.maximum_instance_count >= 1 && var.maximum_instance_count <= 1000
    error_message = "maximum_instance_count must be between 1 and 1000."
  }
}

variable "instance_memory_in_mb" {
  type        = number
  description = "Instance memory on Flex Consumption."
  default     = 2048

  validation {
    condition     = contains([512, 2048, 4096], var.instance_memory_in_mb)
    error_message = "instance_memory_in_mb must be 512, 2048 or 4096."
  }
}

variable "zone_balancing_enabled" {
  type        = bool
  description = "Spread Elastic Premium instances across availability zones (needs worker_count >= 2)."
  default     = false
}

variable "worker_count" {
  type        = number
  description = "Elastic Premium plan instances (the plan's floor; minimum_instance_count is the app's always-ready count). Zone balancing needs 2 or more; Microsoft bills at least 3 and spreads evenly on multiples of the region's zones."
  default     = 1

  validation {
    condition     = var.worker_count >= 1 && var.worker_count <= var.maximum_instance_count
    error_message = "worker_count must be between 1 and maximum_instance_count."
  }

  validation {
    condition     = var.hosting_plan != "elastic_premium" || !var.zone_balancing_enabled || var.worker_count >= 2
    error_message = "zone_balancing_enabled needs worker_count >= 2: the provider enables zone balancing only on a plan with more than one instance."
  }
}

variable "storage_account_name" {
  type        = string
  description = "Storage account for the Functions host (AzureWebJobsStorage), reached with the app's identity."
}

variable "storage_account_id" {
  type        = string
  description = "Resource ID of that storage account (scope of the Blob Data Owner and Table Data Contributor roles)."
}

variable "storage_blob_endpoint" {
  type        = string
  description = "Blob endpoint of that storage account, ending with a slash."
}

variable "function_releases_container_name" {
  type        = string
  description = "Container the Flex Consumption app deploys its package from."
}

variable "eventhub_id" {
  type        = string
  description = "Resource ID of the event hub the function reads (scope of the Data Receiver role)."
}

variable "eventhub_fully_qualified_namespace" {
  type        = string
  description = "Host name of the Event Hubs namespace, for the identity-based trigger connection."
}

variable "application_insights_id" {
  type        = string
  description = "Resource ID of Application Insights (scope of the Monitoring Metrics Publisher role)."
}

variable "application_insights_connection_string" {
  type        = string
  description = "Application Insights connection string; ingestion is authenticated with the app's identity."
  sensitive   = true
}

variable "app_settings" {
  type        = map(string)
  description = "The pipeline's infrastructure settings (names and endpoints, never secrets), merged over the identity-based connection settings. Release settings are paysim function's (ADR 0012)."
  default     = {}

  validation {
    condition     = alltrue([for value in values(var.app_settings) : !can(regex("(?i)(AccountKey|SharedAccessKey|password)=", value))])
    error_message = "app_settings must not carry secrets: use identity-based connections."
  }
}

variable "log_analytics_workspace_id" {
  type        = string
  description = "Log Analytics workspace that receives the function's logs and metrics."
}

variable "diagnostic_setting_name" {
  type        = string
  description = "Name of the diagnostic setting on the app."
}

variable "tags" {
  type        = map(string)
  description = "Tags for every taggable resource in this module."
}
