# Alerts and a workbook on the metrics the Function emits per batch (paysim_pipeline/telemetry.py):
# OpenTelemetry metrics that the Azure Monitor distro sends to Application Insights, which stores
# them in the workspace's AppMetrics table (Name, Sum, Min, Max, ItemCount, Properties). Kept apart
# from main.tf: these follow the pipeline's own instruments, main.tf the platform's metrics.

locals {
  pipeline_metrics = "AppMetrics | where _ResourceId =~ \"${azurerm_application_insights.this.id}\""
}

resource "azurerm_monitor_scheduled_query_rules_alert_v2" "dead_letter_growth" {
  name                 = "${var.alert_name_prefix}-dead-letter-growth"
  resource_group_name  = var.resource_group_name
  location             = var.location
  scopes               = [azurerm_log_analytics_workspace.this.id]
  description          = "More than ${var.dead_letter_growth_threshold} events became failed items in 5 minutes: triage with `paysim dlq stats`."
  severity             = 2
  evaluation_frequency = "PT5M"
  window_duration      = "PT5M"
  tags                 = var.tags

  criteria {
    query                   = <<-KQL
      ${local.pipeline_metrics}
      | where Name == "paysim.pipeline.failed_items"
      | summarize failed_items = sum(Sum) by bin(TimeGenerated, 5m)
    KQL
    time_aggregation_method = "Maximum"
    metric_measure_column   = "failed_items"
    operator                = "GreaterThan"
    threshold               = var.dead_letter_growth_threshold

    failing_periods {
      minimum_failing_periods_to_trigger_alert = 1
      number_of_evaluation_periods             = 1
    }
  }

  action {
    action_groups = [azurerm_monitor_action_group.this.id]
  }
}

resource "azurerm_monitor_scheduled_query_rules_alert_v2" "end_to_end_latency" {
  name                 = "${var.alert_name_prefix}-end-to-end-latency"
  resource_group_name  = var.resource_group_name
  location             = var.location
  scopes               = [azurerm_log_analytics_workspace.this.id]
  description          = "A payment took over ${var.end_to_end_latency_threshold_seconds} s from its intended send time to its commit, twice in a row: the pipeline is falling behind (`paysim health`)."
  severity             = 2
  evaluation_frequency = "PT5M"
  window_duration      = "PT5M"
  tags                 = var.tags

  criteria {
    query                   = <<-KQL
      ${local.pipeline_metrics}
      | where Name == "paysim.pipeline.end_to_end_latency"
      | summarize slowest_seconds = max(Max) by bin(TimeGenerated, 5m)
    KQL
    time_aggregation_method = "Maximum"
    metric_measure_column   = "slowest_seconds"
    operator                = "GreaterThan"
    threshold               = var.end_to_end_latency_threshold_seconds

    failing_periods {
      minimum_failing_periods_to_trigger_alert = 2
      number_of_evaluation_periods             = 2
    }
  }

  action {
    action_groups = [azurerm_monitor_action_group.this.id]
  }
}

resource "azurerm_monitor_scheduled_query_rules_alert_v2" "processing_errors" {
  name                 = "${var.alert_name_prefix}-processing-errors"
  resource_group_name  = var.resource_group_name
  location             = var.location
  scopes               = [azurerm_log_analytics_workspace.this.id]
  description          = "More than ${var.processing_errors_threshold} batches failed to process in 5 minutes (they are redelivered): see the Function's exceptions."
  severity             = 1
  evaluation_frequency = "PT5M"
  window_duration      = "PT5M"
  tags                 = var.tags

  criteria {
    query                   = <<-KQL
      ${local.pipeline_metrics}
      | where Name == "paysim.pipeline.batch_failures"
      | summarize batch_failures = sum(Sum) by bin(TimeGenerated, 5m)
    KQL
    time_aggregation_method = "Maximum"
    metric_measure_column   = "batch_failures"
    operator                = "GreaterThan"
    threshold               = var.processing_errors_threshold

    failing_periods {
      minimum_failing_periods_to_trigger_alert = 1
      number_of_evaluation_periods             = 1
    }
  }

  action {
    action_groups = [azurerm_monitor_action_group.this.id]
  }
}

# One page for the pipeline: throughput, failed items by code, latency, batch time and failures, and
# the hub's incoming against outgoing events. A workbook's name must be a GUID: derived, so stable.
resource "azurerm_application_insights_workbook" "this" {
  name                = uuidv5("url", "${var.resource_group_name}/${var.application_insights_name}/paysim-pipeline-workbook")
  resource_group_name = var.resource_group_name
  location            = var.location
  display_name        = "paysim pipeline (${var.alert_name_prefix})"
  source_id           = lower(azurerm_log_analytics_workspace.this.id)
  category            = "workbook"
  tags                = var.tags
  data_json = templatefile("${path.module}/pipeline_workbook.json.tftpl", {
    pipeline_metrics      = local.pipeline_metrics
    workspace_id          = azurerm_log_analytics_workspace.this.id
    eventhub_namespace_id = var.eventhub_namespace_id
  })
}
