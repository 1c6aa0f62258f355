variable "resource_group_name" {
  type        = string
  description = "Resource group that holds the monitoring resources."
}

variable "location" {
  type        = string
  description = "Azure region of the workspace, Application Insights and the log alert."
}

variable "log_analytics_workspace_name" {
  type        = string
  description = "Name of the Log Analytics workspace."
}

variable "application_insights_name" {
  type        = string
  description = "Name of the workspace-based Application Insights component."
}

variable "action_group_name" {
  type        = string
  description = "Name of the action group every alert notifies."
}

variable "alert_name_prefix" {
  type        = string
  description = "Prefix of the alert rule names (<prefix>-function-failures, ...)."
}

variable "retention_in_days" {
  type        = number
  description = "Days the workspace keeps logs and metrics."
  default     = 30

  validation {
    condition     = var.retention_in_days >= 30 && var.retention_in_days <= 730
    error_message = "retention_in_days must be between 30 and 730."
  }
}

variable "daily_quota_gb" {
  type        = number
  description = "Daily ingestion cap in GB; -1 means no cap."
  default     = -1

  validation {
    condition     = var.daily_quota_gb == -1 || var.daily_quota_gb > 0
    error_message = "daily_quota_gb must be -1 (no cap) or positive."
  }
}

variable "alert_email_receivers" {
  type        = map(string)
  description = "Who the action group emails, as name => address."
  default     = {}

  validation {
    condition     = alltrue([for address in values(var.alert_email_receivers) : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", address))])
    error_message = "every alert_email_receivers value must be an e-mail address."
  }
}

variable "eventhub_namespace_id" {
  type        = string
  description = "Event Hubs namespace watched for throttling and backlog."
}

variable "function_failures_threshold" {
  type        = number
  description = "Failed function executions in 5 minutes that raise an alert."
  default     = 5

  validation {
    condition     = var.function_failures_threshold >= 0
    error_message = "function_failures_threshold must not be negative."
  }
}

variable "backlog_threshold" {
  type        = number
  description = "Events received but not yet read (incoming minus outgoing per 5 minutes) that raise an alert when sustained for 15 minutes."
  default     = 10000

  validation {
    condition     = var.backlog_threshold > 0
    error_message = "backlog_threshold must be positive."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for every taggable resource in this module."
}

variable "dead_letter_growth_threshold" {
  type        = number
  description = "New failed items in 5 minutes (metric paysim.pipeline.failed_items) that raise an alert."
  default     = 50

  validation {
    condition     = var.dead_letter_growth_threshold >= 0
    error_message = "dead_letter_growth_threshold must not be negative."
  }
}

variable "end_to_end_latency_threshold_seconds" {
  type        = number
  description = "Slowest event's intended-send-to-commit time in 5 minutes (paysim.pipeline.end_to_end_latency) that raises an alert."
  default     = 30

  validation {
    condition     = var.end_to_end_latency_threshold_seconds > 0
    error_message = "end_to_end_latency_threshold_seconds must be positive."
  }
}

variable "processing_errors_threshold" {
  type        = number
  description = "Batches whose processing raised in 5 minutes (paysim.pipeline.batch_failures) that raise an alert."
  default     = 0

  validation {
    condition     = var.processing_errors_threshold >= 0
    error_message = "processing_errors_threshold must not be negative."
  }
}
