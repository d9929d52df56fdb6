# ComplianceLayer: {"id", "type", "created_at", "data"}, scan.completed in its own field
# names. Endpoint: signature hmac-sha256, header X-ComplianceLayer-Signature, hex;
# header_prefix X-ComplianceLayer; SCANHOOK_USER_AGENT ComplianceLayer-Webhooks/1.0.
{
  id: .id,
  type: .type,
  created_at: .timestamp,
  data: (
    if .type == "scan.completed" then
      (.data.violations // {}) as $v
      | {
          scan_id: .data.scanId,
          domain: .data.target,
          score: .data.score,
          grade: .data.grade,
          issues_count: ($v.total // 0),
          critical_issues: ($v.critical // 0),
          high_issues: ($v.high // 0),
          medium_issues: ($v.medium // 0),
          low_issues: ($v.low // 0),
          scanned_at: .timestamp,
          scan_duration_ms: ((.data.duration // 0) * 1000 | floor)
        }
    else .data end
  )
}
