terraform {
  required_version = ">= 1.9, < 2.0"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.58"
    }
  }

  # Partial configuration: backend.hcl beside this file names the state account and this environment's key
  # (`paysim infra init` passes it as -backend-config). State is read with Entra ID, never an account key.
  backend "azurerm" {
    use_azuread_auth = true
  }
}

provider "azurerm" {
  # The subscription comes from ARM_SUBSCRIPTION_ID or the Azure CLI's current account.
  features {}

  # Shared keys are disabled on the storage account, so data-plane calls use Entra ID too.
  storage_use_azuread = true
}
