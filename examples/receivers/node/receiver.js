// A scanhook receiver in Node with express. It verifies the Standard Webhooks signature
// over the raw body, exactly as it arrived (parsing JSON first would change the bytes),
// answers 204 when the delivery is authentic and fresh, 401 when not.
//
//   WEBHOOK_SECRET=whsec_... PORT=3000 node receiver.js
'use strict';

const crypto = require('node:crypto');
const express = require('express');

const TOLERANCE_SECONDS = 5 * 60; // refuse replays of old deliveries

// A whsec_ secret is keyed by its base64 part; any other secret by its UTF-8 bytes.
function keyOf(secret) {
  if (secret.startsWith('whsec_')) {
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    if (key.length > 0) return key;
  }
  return Buffer.from(secret, 'utf8');
}

// Returns null when the delivery verifies, else the reason it does not.
function verify(key, headers, rawBody) {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (!id || !timestamp || !signatures) return 'missing webhook-id, webhook-timestamp or webhook-signature';
  if (!/^\d+$/.test(timestamp)) return 'webhook-timestamp is not unix seconds';
  const skew = Math.floor(Date.now() / 1000) - Number(timestamp);
  if (Math.abs(skew) > TOLERANCE_SECONDS) return `webhook-timestamp is ${skew} s off, beyond the tolerance`;

  const expected = crypto.createHmac('sha256', key).update(`${id}.${timestamp}.`).update(rawBody).digest();
  // During a secret rotation there is one "v1,<base64>" entry per secret: any may match.
  for (const entry of signatures.split(' ')) {
    const [version, value] = entry.split(',');
    if (version !== 'v1' || !value) continue;
    const candidate = Buffer.from(value, 'base64');
    if (candidate.length === expected.length && crypto.timingSafeEqual(candidate, expected)) return null;
  }
  return 'no signature matches';
}

const secret = process.env.WEBHOOK_SECRET;
if (!secret) {
  console.error('set WEBHOOK_SECRET to the endpoint\'s signing secret');
  process.exit(2);
}
const key = keyOf(secret);

const app = express();
// Keep the body as raw bytes, whatever its Content-Type.
app.use(express.raw({ type: () => true, limit: '10mb' }));
app.post('/{*path}', (req, res) => {
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const problem = verify(key, req.headers, body);
  if (problem) {
    console.error(`rejected: ${problem}`);
    return res.sendStatus(401);
  }
  let eventType = req.get('x-scanhook-event') ?? 'unknown';
  try {
    eventType = JSON.parse(body.toString('utf8')).type ?? eventType;
  } catch {
    // A template may send something other than JSON; the header still names the event.
  }
  // Deliveries are at-least-once: a real receiver drops repeats of webhook-id here.
  console.log(`verified ${eventType} ${req.get('webhook-id')}`);
  res.sendStatus(204);
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
