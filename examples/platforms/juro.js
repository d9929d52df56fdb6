// Juro's receiver, from its webhook documentation ("1. Create Webhook Endpoint"): express.json()
// parses the body and the hex HMAC is computed over JSON.stringify(req.body), so scanhook must
// send what JSON.stringify makes of the body: "body_json": "javascript".
//
//   JURO_WEBHOOK_SECRET=... PORT=0 node juro.js
//
// Between the glue markers: not from the seed. Outside them: the seed's code as written.

// --- glue: what the seed calls but does not define (its Slack and GitHub calls are
// examples of their own), so a delivery reaches the seed's handlers and is printed.
function sendSlackNotification(message) {
  console.log(`slack: ${message}`);
}
function createGitHubIssue(issue) {
  console.log(`github issue: ${issue.title}`);
}
function handleScanFailed(data) {
  console.log(`Scan ${data.scanId} failed`);
}
function handleViolationResolved(data) {
  console.log(`Violation ${data.violationId} resolved`);
}
// --- end of glue

const express = require('express');
const crypto = require('crypto');

const app = express();
app.use(express.json());

// Webhook endpoint
app.post('/webhooks/juro', (req, res) => {
  const signature = req.headers['x-juro-signature'];
  const payload = JSON.stringify(req.body);
  
  // Verify webhook signature
  const expectedSignature = crypto
    .createHmac('sha256', process.env.JURO_WEBHOOK_SECRET)
    .update(payload)
    .digest('hex');
  
  if (signature !== expectedSignature) {
    return res.status(401).json({ error: 'Invalid signature' });
  }
  
  // Process webhook event
  const { event, data } = req.body;
  
  switch (event) {
    case 'scan.completed':
      handleScanCompleted(data);
      break;
    case 'scan.failed':
      handleScanFailed(data);
      break;
    case 'violation.detected':
      handleViolationDetected(data);
      break;
    case 'violation.resolved':
      handleViolationResolved(data);
      break;
    default:
      console.log('Unknown event:', event);
  }
  
  res.json({ status: 'success' });
});

function handleScanCompleted(data) {
  console.log(`Scan ${data.scanId} completed with ${data.violations.total} violations`);
  
  // Send notification to Slack
  if (data.violations.critical > 0) {
    sendSlackNotification(`Critical violations detected in scan ${data.scanId}`);
  }
}

function handleViolationDetected(data) {
  console.log(`New ${data.severity} violation: ${data.message} in ${data.file}:${data.line}`);
  
  // Create GitHub issue
  createGitHubIssue({
    title: `Compliance Violation: ${data.message}`,
    body: `**File:** ${data.file}\n**Line:** ${data.line}\n**Rule:** ${data.rule}\n**Severity:** ${data.severity}\n\n${data.suggestion}`,
    labels: ['compliance', data.severity]
  });
}

// --- glue: listen on PORT (0: any free port) instead of 3000, and say where.
const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
// --- end of glue
