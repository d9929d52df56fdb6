# Discord webhook: one embed, its side bar in the severity colour.
{
  embeds: [
    {
      title: (title | .[:256]),
      color: (color_hex | ltrimstr("#") | explode
              | map(if . >= 65 then . - 55 else . - 48 end)
              | reduce .[] as $d (0; . * 16 + $d)),
      fields: (facts[:25] | map({name, value: .value[:1024], inline: (.name != "Suggestion")})),
      footer: {text: footer},
      timestamp: .timestamp
    }
    + (link as $l | if $l then {url: $l} else {} end)
  ]
}
