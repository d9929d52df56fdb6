# A PagerDuty Events v2 alert per alert or critical issue. Endpoint: url
# https://events.pagerduty.com/v2/enqueue, events alert.triggered,issue.critical,
# signature none, extra_payload {"routing_key": "<integration key>"} (kept out of the
# template, like any secret).
{
  event_action: "trigger",
  dedup_key: (.data.alert_id // .data.issue_id // .id),
  payload: {
    summary: (if .type == "alert.triggered" then "\(.data.title) - \(.data.domain // .data.project_id)"
              else "Critical issue: \(.data.title) in \(.data.file):\(.data.line)" end),
    severity: ({critical: "critical", high: "error", medium: "warning"}[.data.severity] // "info"),
    source: "scanhook",
    component: (.data.project_id // .data.scan_id // "scanhook"),
    class: .type,
    timestamp: .timestamp,
    custom_details: .data
  }
}
