# A Jira issue per new critical issue. Endpoint: url
# https://jira.example.com/rest/api/2/issue, events issue.critical, signature none,
# bearer_token a Jira personal access token (Jira Cloud: headers {"Authorization":
# "Basic <base64 of email:api-token>"} instead).
{
  fields: {
    project: {key: "SEC"},
    issuetype: {name: "Bug"},
    priority: {name: "Highest"},
    summary: "Critical issue: \(.data.title)",
    description: "Rule *\(.data.rule)* in {{\(.data.file)}} line \(.data.line).\nscanhook event \(.id), scan \(.data.scan_id).",
    labels: ["scanhook", "critical"]
  }
}
