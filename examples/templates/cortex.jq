# Cortex: {"event", "id", "timestamp", "data"}. Endpoint: signature hmac-sha256, header
# X-Cortex-Signature, prefix sha256=, hex; header_prefix X-Cortex; timeout 5.
{event: .type, id: .id, timestamp: .timestamp, data: .data}
