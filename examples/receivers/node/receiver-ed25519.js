// A scanhook receiver in Node for endpoints with the standard-ed25519 scheme, built-in
// modules only. It verifies the Ed25519 signature over the raw body with the endpoint's
// public key (no secret: the receiver could not sign), answers 204 when the delivery is
// authentic and fresh, 401 when not.
//
//   WEBHOOK_PUBLIC_KEY=whpk_... PORT=3000 node receiver-ed25519.js
'use strict';

const crypto = require('node:crypto');
const http = require('node:http');

const TOLERANCE_SECONDS = 5 * 60; // refuse replays of old deliveries

// whpk_ + base64 of the raw 32-byte key; Node reads raw Ed25519 keys as a JSON Web Key.
function publicKeyOf(text) {
  const raw = Buffer.from(text.slice('whpk_'.length), 'base64');
  if (!text.startsWith('whpk_') || raw.length !== 32) throw new Error('not a whpk_ public key');
  return crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

// Returns null when the delivery verifies, else the reason it does not.
function verify(publicKey, headers, rawBody) {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (!id || !timestamp || !signatures) return 'missing webhook-id, webhook-timestamp or webhook-signature';
  if (!/^\d+$/.test(timestamp)) return 'webhook-timestamp is not unix seconds';
  const skew = Math.floor(Date.now() / 1000) - Number(timestamp);
  if (Math.abs(skew) > TOLERANCE_SECONDS) return `webhook-timestamp is ${skew} s off, beyond the tolerance`;

  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), rawBody]);
  // During a key rotation there is one "v1a,<base64>" entry per key: any may match.
  for (const entry of signatures.split(' ')) {
    const [version, value] = entry.split(',');
    if (version !== 'v1a' || !value) continue;
    const signature = Buffer.from(value, 'base64');
    if (signature.length === 64 && crypto.verify(null, signed, publicKey, signature)) return null;
  }
  return 'no signature matches';
}

let publicKey;
try {
  publicKey = publicKeyOf(process.env.WEBHOOK_PUBLIC_KEY ?? '');
} catch {
  console.error('set WEBHOOK_PUBLIC_KEY to the endpoint\'s public key (whpk_…, from GET /v1/webhooks/{id})');
  process.exit(2);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    // The body exactly as it arrived: parsing the JSON first would change the bytes.
    const body = Buffer.concat(chunks);
    const problem = verify(publicKey, req.headers, body);
    if (problem) {
      console.error(`rejected: ${problem}`);
      res.writeHead(401).end();
      return;
    }
    let eventType = req.headers['x-scanhook-event'] ?? 'unknown';
    try {
      eventType = JSON.parse(body.toString('utf8')).type ?? eventType;
    } catch {
      // A template may send something other than JSON; the header still names the event.
    }
    // Deliveries are at-least-once: a real receiver drops repeats of webhook-id here.
    console.log(`verified ${eventType} ${req.headers['webhook-id']}`);
    res.writeHead(204).end();
  });
});

server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
