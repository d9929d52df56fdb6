# Juro: {"event", "timestamp", "data"}. Endpoint: signature hmac-sha256, header
# X-Juro-Signature, hex, no prefix; SCANHOOK_HEADER_PREFIX or header_prefix X-Juro;
# body_json javascript (the receiver signs JSON.stringify(req.body)).
{event: .type, timestamp: .timestamp, data: .data}
