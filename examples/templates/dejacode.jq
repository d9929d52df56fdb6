# DejaCode: {"hook": {"uuid", "event", "target"}, "data"}; its extra payload goes in
# extra_payload and its extra headers in headers.
{hook: {uuid: $ctx.webhook_id, event: .type, target: $ctx.endpoint}, data: .data}
