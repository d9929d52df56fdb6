// Cortex's receiver. Its documentation ("Signature Verification") gives verifySignature and
// the X-Cortex-Signature header, not where `payload` comes from, so both ways a Node app gets
// it are here: express.json() and JSON.stringify(req.body) at /webhooks/cortex (scanhook sends
// "body_json": "javascript"), express.raw() and the body's bytes at /webhooks/cortex-raw
// ("body_json": "verbatim" is enough).
//
//   CORTEX_WEBHOOK_SECRET=... PORT=0 node cortex.js
//
// Between the glue markers: not from the seed. Outside them: the seed's code as written.

const crypto = require('crypto');

function verifySignature(payload, signature, secret) {
  const expectedSignature = crypto
    .createHmac('sha256', secret)
    .update(payload, 'utf8')
    .digest('hex');

  return signature === `sha256=${expectedSignature}`;
}

// --- glue: the app around verifySignature, which the seed does not show.
const express = require('express');
const app = express();

function received(req, res, payload) {
  if (!verifySignature(payload, req.headers['x-cortex-signature'], process.env.CORTEX_WEBHOOK_SECRET)) {
    return res.status(401).json({ error: 'Invalid signature' });
  }
  const event = JSON.parse(payload);
  console.log(`verified ${req.path} ${event.event} ${event.id} ${event.data.scan_id}`);
  res.status(200).json({ received: true });
}

app.post('/webhooks/cortex', express.json(), (req, res) => received(req, res, JSON.stringify(req.body)));
app.post('/webhooks/cortex-raw', express.raw({ type: 'application/json' }), (req, res) =>
  received(req, res, req.body.toString('utf8')),
);

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
// --- end of glue
