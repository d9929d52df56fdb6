# A GitHub issue per new violation. Endpoint: url
# https://api.github.com/repos/OWNER/REPO/issues, events violation.detected, signature
# none, bearer_token a token allowed to create issues, headers
# {"Accept": "application/vnd.github+json"}.
{
  title: "Compliance Violation: \(.data.message)",
  body: "**File:** \(.data.file)\n**Line:** \(.data.line)\n**Rule:** \(.data.rule)\n**Severity:** \(.data.severity)\n\n\(.data.suggestion // "")\n\n_scanhook event \(.id), scan \(.data.scanId)_",
  labels: ["compliance", .data.severity]
}
