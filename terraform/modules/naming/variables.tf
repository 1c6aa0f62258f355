variable "project" {
  type        = string
  description = "Short project name, the second part of every resource name (e.g. paysim)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.project))
    error_message = "project must be 2-10 lowercase letters or digits, starting with a letter."
  }
}

variable "environment" {
  type        = string
  description = "Environment name, the third part of every resource name."

  validation {
    condition     = contains(["dev", "staging", "production"], var.environment)
    error_message = "environment must be one of dev, staging, production."
  }
}

variable "location" {
  type        = string
  description = "Azure region (programmatic name, e.g. westeurope); its abbreviation ends every resource name."

  validation {
    condition = contains([
      "westeurope", "northeurope", "swedencentral", "germanywestcentral", "francecentral", "uksouth",
      "eastus", "eastus2", "westus2", "centralus",
    ], var.location)
    error_message = "location must be a region listed in the naming module's region_abbreviations."
  }
}

variable "suffix" {
  type        = string
  description = "Optional short suffix that makes globally unique names (storage, Event Hubs, PostgreSQL, Function App) unique to your organisation."
  default     = ""

  validation {
    condition     = can(regex("^[a-z0-9]{0,4}$", var.suffix))
    error_message = "suffix must be at most 4 lowercase letters or digits."
  }
}

variable "extra_tags" {
  type        = map(string)
  description = "Tags merged over the common tags (project, environment, managed_by, repository)."
  default     = {}
}
