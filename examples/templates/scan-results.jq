# The bearer-token scan-results hook: {"scanId", "status", "results", "timestamp"}.
# Endpoint: events scan.*, signature bearer with the receiver's bearer_token.
{
  scanId: .data.scanId,
  status: (if .type == "scan.completed" then "completed"
           elif .type == "scan.failed" or .type == "scan.timeout" then "failed"
           else "in_progress" end),
  results: {threatsFound: (.data.violations.total // 0), details: []},
  timestamp: .timestamp
}
