// A receiver of DejaCode's webhooks. Its documentation shows no code: the body is
// {"hook": {"uuid", "event", "target"}, "data"} with the webhook's extra payload merged in, its
// extra headers are added to the request, and it suggests a shared value in an extra header to
// tell real requests from others (there is no signature). This receiver checks exactly that;
// all of it is ours.
//
//   DEJACODE_TOKEN=... PORT=0 node dejacode.js
'use strict';

const express = require('express');

const app = express();
app.use(express.json());

app.post('/dejacode', (req, res) => {
  if (req.headers['x-dejacode-token'] !== process.env.DEJACODE_TOKEN) {
    return res.status(401).json({ error: 'Invalid token' });
  }
  const { hook, data, ...extra } = req.body;
  if (typeof hook?.uuid !== 'string' || typeof hook.event !== 'string' || typeof hook.target !== 'string'
      || typeof data !== 'object' || data === null) {
    return res.status(400).json({ error: 'Not a DejaCode webhook' });
  }
  console.log(`received ${hook.event} ${hook.uuid} ${hook.target} extra=${JSON.stringify(extra)}`);
  res.status(200).json({ received: true });
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
