# Shared by the built-in chat formats: what an event is about, how bad it is, and the
# facts worth showing. Input: the canonical envelope.

def n: . // 0;

# scanhook's own operational events (about an endpoint's delivery health).
def operational: .type as $t | ["endpoint.disabled", "endpoint.failing", "endpoint.recovered", "delivery.dead"] | any(. == $t);

# critical | high | medium | low | info | ok
def level:
  if .data.severity then .data.severity
  elif .type == "scan.completed" then
    (.data.violations // {}) as $v
    | if ($v.critical | n) > 0 then "critical"
      elif ($v.high | n) > 0 then "high"
      elif ($v.medium | n) > 0 then "medium"
      elif ($v.low | n) > 0 then "low"
      else "ok" end
  elif .type == "scan.failed" or .type == "scan.timeout" then "high"
  elif .type == "endpoint.disabled" or .type == "delivery.dead" then "high"
  elif .type == "endpoint.failing" then "medium"
  elif .type == "violation.resolved" or .type == "endpoint.recovered" then "ok"
  elif .type == "score.changed" then (if (.data.change | n) < 0 then "medium" else "ok" end)
  else "info" end;

def color_hex:
  {critical: "#B71C1C", high: "#E65100", medium: "#F9A825", low: "#1565C0", info: "#546E7A", ok: "#2E7D32"}[level];

def counts:
  (.data.violations // {}) as $v
  | "\($v.total | n) violations (\($v.critical | n) critical, \($v.high | n) high, \($v.medium | n) medium, \($v.low | n) low)";

def title:
  .data as $d
  | if .type == "scan.started" then "Scan started"
    elif .type == "scan.progress" then "Scan \($d.percent | n)% done"
    elif .type == "scan.completed" then "Scan completed: \(counts)"
    elif .type == "scan.failed" then "Scan failed: \($d.error.message // "unknown error")"
    elif .type == "scan.timeout" then "Scan timed out after \($d.timeLimit | n | floor) s"
    elif .type == "violation.detected" and $d.reopened == true then "Reopened \($d.severity) violation: \($d.message)"
    elif .type == "violation.detected" then "New \($d.severity) violation: \($d.message)"
    elif .type == "violation.resolved" then "Violation resolved (\($d.rule)) by \($d.resolvedBy)"
    elif .type == "issue.critical" then "Critical issue: \($d.title)"
    elif .type == "score.changed" then "Score changed from \($d.oldScore) to \($d.newScore) (\($d.change))"
    elif .type == "alert.triggered" then "\($d.title): \($d.message)"
    elif .type == "project.created" then "Project created: \($d.name // $d.projectId)"
    elif .type == "project.deleted" then "Project deleted: \($d.name // $d.projectId)"
    elif .type == "endpoint.disabled" then "Endpoint disabled: \($d.url)"
    elif .type == "endpoint.failing" then "Endpoint failing: \($d.url)"
    elif .type == "endpoint.recovered" then "Endpoint recovered: \($d.url)"
    elif .type == "delivery.dead" then "Delivery of \($d.eventType) given up after \($d.attempts | n) attempts: \($d.url)"
    else .type end;

# [{name, value}] of what is known, in a fixed order.
def facts:
  .data as $d
  | [ ["Project", ($d.projectId // $d.project_id)],
      ["Scan", ($d.scanId // $d.scan_id)],
      ["Severity", (if level == "ok" or level == "info" then null else level end)],
      ["Rule", $d.rule],
      ["Tool", (if $d.tool and $d.category then "\($d.tool) (\($d.category))" else $d.tool end)],
      ["Location", (if $d.file then "\($d.file):\($d.line // 1)" else null end)],
      ["Score", $d.score],
      ["Grade", $d.grade],
      ["Rules", (if ($d.rules | type) == "array" then $d.rules | join(", ") else null end)],
      ["Suggestion", $d.suggestion],
      ["Endpoint", (if operational then $d.endpointId else null end)],
      ["Reason", $d.reason],
      ["Failures", (if $d.failureRate then "\($d.failures | n) of the last \($d.attempts | n) (\($d.failureRate * 100 | round)%)" else null end)],
      ["p95 latency", (if $d.p95LatencyMs then "\($d.p95LatencyMs) ms" else null end)],
      ["Event", (if $d.eventId then "\($d.eventType) \($d.eventId)" else null end)],
      ["Delivery", $d.deliveryId],
      ["Last status", $d.lastStatus],
      ["Last error", $d.lastError] ]
  | map(select(.[1] != null) | {name: .[0], value: (.[1] | tostring)});

# The first web link the event carries, if any (an operational event's URL is an
# endpoint's, not a page to open).
def link:
  if operational then null else
  [.data.url, .data.reportUrl, .data.target, .data.domain]
  | map(select(type == "string" and (startswith("https://") or startswith("http://"))))
  | .[0] end;

def footer: "\(.type) · \(.id) · \(.timestamp)";
