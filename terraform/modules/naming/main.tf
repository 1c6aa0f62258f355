# The one place that names resources: <abbreviation>-<project>-<environment>-<region>[-<suffix>],
# abbreviations from the Cloud Adoption Framework. Storage accounts allow only [a-z0-9]{3,24}.
locals {
  region_abbreviations = {
    westeurope         = "weu"
    northeurope        = "neu"
    swedencentral      = "sdc"
    germanywestcentral = "gwc"
    francecentral      = "frc"
    uksouth            = "uks"
    eastus             = "eus"
    eastus2            = "eus2"
    westus2            = "wus2"
    centralus          = "cus"
  }

  abbreviations = {
    resource_group          = "rg"
    eventhub_namespace      = "evhns"
    postgresql_server       = "psql"
    service_plan            = "asp"
    function_app            = "func"
    log_analytics_workspace = "log"
    application_insights    = "appi"
    action_group            = "ag"
    alert                   = "alert"
    diagnostic_setting      = "diag"
  }

  base = join("-", compact([var.project, var.environment, local.region_abbreviations[var.location], var.suffix]))

  names = merge(
    { for kind, abbreviation in local.abbreviations : kind => "${abbreviation}-${local.base}" },
    { storage_account = substr("st${replace(local.base, "-", "")}", 0, 24) },
  )

  tags = merge(
    {
      project     = var.project
      environment = var.environment
      managed_by  = "terraform"
      repository  = "paysim"
    },
    var.extra_tags,
  )
}
