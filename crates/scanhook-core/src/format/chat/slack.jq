# Slack incoming webhook: blocks inside an attachment, whose bar carries the severity colour.
{
  text: title,
  attachments: [{
    color: color_hex,
    fallback: title,
    blocks: (
      [{type: "section", text: {type: "mrkdwn", text: "*\(title)*"}}]
      + (facts as $f | if ($f | length) > 0
          then [{type: "section", fields: ($f[:10] | map({type: "mrkdwn", text: "*\(.name)*\n\(.value)"}))}]
          else [] end)
      + (link as $l | if $l then
          [{type: "actions", elements: [{type: "button", text: {type: "plain_text", text: "Open"}, url: $l}]}]
          else [] end)
      + [{type: "context", elements: [{type: "mrkdwn", text: footer}]}]
    )
  }]
}
