# Microsoft Teams incoming webhook: a MessageCard with a severity-coloured theme.
{
  "@type": "MessageCard",
  "@context": "https://schema.org/extensions",
  summary: title,
  themeColor: (color_hex | ltrimstr("#")),
  title: title,
  sections: [{activitySubtitle: footer, facts: facts, markdown: true}]
}
+ (link as $l | if $l then
    {potentialAction: [{"@type": "OpenUri", name: "Open", targets: [{os: "default", uri: $l}]}]}
  else {} end)
