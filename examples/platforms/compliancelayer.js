// ComplianceLayer's receiver, from its webhook documentation ("Verifying Signatures" and
// "Handling Events"): express.raw() keeps the body's bytes and crypto.timingSafeEqual compares
// the hex HMAC in X-ComplianceLayer-Signature, so the body as sent verifies: "body_json" stays
// "verbatim". (The seed's code lost its indentation on the page; it is kept as it stands.)
//
//   WEBHOOK_SECRET=... PORT=0 node compliancelayer.js
//
// Between the glue markers: not from the seed. Outside them: the seed's code as written.

// --- glue: the clients the seed's handlers call but does not create (Jira, Slack, PagerDuty,
// Datadog), so a delivery reaches them and what they were given is printed.
const jira = { createIssue: async (issue) => console.log(`jira: ${issue.summary}`) };
const slack = { postMessage: async (message) => console.log(`slack: ${message.text}`) };
const pagerduty = { trigger: async (alert) => console.log(`pagerduty: ${alert.payload.summary}`) };
const datadog = { logEvent: async (event) => console.log(`datadog: ${event.title}`) };
// --- end of glue

const crypto = require('crypto');
function verifyWebhook(payload, signature, secret) {
// Compute HMAC-SHA256 of the JSON payload
const computed = crypto
.createHmac('sha256', secret)
.update(payload) // Raw JSON string, not parsed object
.digest('hex');
// Use timing-safe comparison to prevent timing attacks
return crypto.timingSafeEqual(
Buffer.from(signature),
Buffer.from(computed)
);
}
// Express.js example
const express = require('express');
const app = express();
// IMPORTANT: Use express.raw() to get raw body for signature verification
app.post('/webhooks/compliancelayer',
express.raw({ type: 'application/json' }),
(req, res) => {
const signature = req.headers['x-compliancelayer-signature'];
const secret = process.env.WEBHOOK_SECRET;
const payload = req.body.toString('utf8');
// Verify signature
if (!verifyWebhook(payload, signature, secret)) {
return res.status(401).send('Invalid signature');
}
// Parse payload after verification
const event = JSON.parse(payload);
// Respond immediately
res.status(200).send('OK');
// Process asynchronously
processWebhook(event);
}
);
async function processWebhook(event) {
console.log(`Processing ${event.type}`, event.data);
switch (event.type) {
case 'scan.completed':
await handleScanCompleted(event.data);
break;
case 'alert.triggered':
await handleAlert(event.data);
break;
}
}
async function handleScanCompleted(data) {
const { domain, score, grade, critical_issues, high_issues } = data;
// Create Jira ticket for low scores
if (score < 70) {
await jira.createIssue({
project: 'SEC',
summary: `Low security score for ${domain}: ${grade}`,
description: `
Domain: ${domain}
Score: ${score}
Grade: ${grade}
Critical Issues: ${critical_issues}
High Issues: ${high_issues}
`,
issuetype: 'Bug',
priority: 'High'
});
}
// Post to Slack
await slack.postMessage({
channel: '#security',
text: `✅ Scan completed for *${domain}*: ${grade} (${score}/100)`,
attachments: [{
color: score >= 80 ? 'good' : score >= 60 ? 'warning' : 'danger',
fields: [
{ title: 'Critical', value: critical_issues, short: true },
{ title: 'High', value: high_issues, short: true }
]
}]
});
}
async function handleAlert(data) {
const { domain, alert_type, severity, title, message } = data;
// Send PagerDuty alert for critical issues
if (severity === 'critical') {
await pagerduty.trigger({
routing_key: process.env.PD_KEY,
event_action: 'trigger',
payload: {
summary: `${title} - ${domain}`,
severity: 'critical',
source: 'ComplianceLayer',
custom_details: { message, alert_type }
}
});
}
// Log to datadog
await datadog.logEvent({
title: `Alert: ${title}`,
text: message,
tags: [`domain:${domain}`, `severity:${severity}`, `type:${alert_type}`],
alert_type: severity === 'critical' ? 'error' : 'warning'
});
}

// --- glue: listen on PORT (0: any free port), and say where.
const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
// --- end of glue
