# A thin root: every environment calls the same pipeline module; only terraform.tfvars differs.
module "pipeline" {
  source = "../../modules/pipeline"

  project                = var.project
  environment            = var.environment
  location               = var.location
  name_suffix            = var.name_suffix
  extra_tags             = var.extra_tags
  eventhub               = var.eventhub
  storage                = var.storage
  postgresql             = var.postgresql
  database_administrator = var.database_administrator
  function_app           = var.function_app
  monitoring             = var.monitoring
}
