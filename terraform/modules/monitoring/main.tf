resource "azurerm_log_analytics_workspace" "this" {
  name                = var.log_analytics_workspace_name
  resource_group_name = var.resource_group_name
  location            = var.location
  sku                 = "PerGB2018"
  retention_in_days   = var.retention_in_days
  daily_quota_gb      = var.daily_quota_gb
  tags                = var.tags
}

resource "azurerm_application_insights" "this" {
  name                = var.application_insights_name
  resource_group_name = var.resource_group_name
  location            = var.location
  workspace_id        = azurerm_log_analytics_workspace.this.id
  application_type    = "other"
  # Telemetry is accepted only with an Entra ID token (the function's identity), never the bare key.
  local_authentication_disabled = true
  tags                          = var.tags
}

resource "azurerm_monitor_action_group" "this" {
  name                = var.action_group_name
  resource_group_name = var.resource_group_name
  short_name          = "paysim"
  tags                = var.tags

  dynamic "email_receiver" {
    for_each = var.alert_email_receivers

    content {
      name                    = email_receiver.key
      email_address           = email_receiver.value
      use_common_alert_schema = true
    }
  }
}

resource "azurerm_monitor_metric_alert" "function_failures" {
  name                = "${var.alert_name_prefix}-function-failures"
  resource_group_name = var.resource_group_name
  scopes              = [azurerm_application_insights.this.id]
  description         = "The pipeline function failed more than ${var.function_failures_threshold} executions in 5 minutes."
  severity            = 1
  frequency           = "PT1M"
  window_size         = "PT5M"
  tags                = var.tags

  criteria {
    metric_namespace = "microsoft.insights/components"
    metric_name      = "requests/failed"
    aggregation      = "Count"
    operator         = "GreaterThan"
    threshold        = var.function_failures_threshold
  }

  action {
    action_group_id = azurerm_monitor_action_group.this.id
  }
}

resource "azurerm_monitor_metric_alert" "eventhub_throttling" {
  name                = "${var.alert_name_prefix}-eventhub-throttling"
  resource_group_name = var.resource_group_name
  scopes              = [var.eventhub_namespace_id]
  description         = "Event Hubs throttled requests: the namespace needs more throughput units."
  severity            = 2
  frequency           = "PT1M"
  window_size         = "PT5M"
  tags                = var.tags

  criteria {
    metric_namespace = "Microsoft.EventHub/namespaces"
    metric_name      = "ThrottledRequests"
    aggregation      = "Total"
    operator         = "GreaterThan"
    threshold        = 0
  }

  action {
    action_group_id = azurerm_monitor_action_group.this.id
  }
}

# A metric alert compares one metric with a threshold, not two metrics with each other, so the
# backlog (events in minus events out) is computed from the namespace's metrics in Log Analytics.
resource "azurerm_monitor_scheduled_query_rules_alert_v2" "eventhub_backlog" {
  name                 = "${var.alert_name_prefix}-eventhub-backlog"
  resource_group_name  = var.resource_group_name
  location             = var.location
  scopes               = [azurerm_log_analytics_workspace.this.id]
  description          = "Incoming events outpace outgoing events by more than ${var.backlog_threshold} per 5 minutes for 15 minutes: the pipeline is falling behind."
  severity             = 2
  evaluation_frequency = "PT5M"
  window_duration      = "PT5M"
  tags                 = var.tags

  criteria {
    query                   = <<-KQL
      AzureMetrics
      | where ResourceId =~ "${var.eventhub_namespace_id}"
      | where MetricName in ("IncomingMessages", "OutgoingMessages")
      | summarize incoming = sumif(Total, MetricName == "IncomingMessages"),
                  outgoing = sumif(Total, MetricName == "OutgoingMessages") by bin(TimeGenerated, 5m)
      | extend backlog = incoming - outgoing
    KQL
    time_aggregation_method = "Maximum"
    metric_measure_column   = "backlog"
    operator                = "GreaterThan"
    threshold               = var.backlog_threshold

    failing_periods {
      minimum_failing_periods_to_trigger_alert = 3
      number_of_evaluation_periods             = 3
    }
  }

  action {
    action_groups = [azurerm_monitor_action_group.this.id]
  }
}
