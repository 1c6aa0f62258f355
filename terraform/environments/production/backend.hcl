# Remote state for production. The account is created once by the bootstrap in terraform/README.md.
resource_group_name  = "rg-paysim-tfstate"
storage_account_name = "stpaysimtfstate"
container_name       = "tfstate"
key                  = "paysim/production.tfstate"
