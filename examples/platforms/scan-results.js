// The bearer-token scan-results hook. Its documentation shows no code, only what a receiver
// checks: `Authorization: Bearer <the token you generated>` (else 401 with an `error`), a JSON
// body {"scanId", "status", "results": {"threatsFound", "details"}, "timestamp"}, and 200 with
// {"message": "Scan results received successfully."}. This is that check, no more; all of it
// is ours.
//
//   BEARER_TOKEN=... PORT=0 node scan-results.js
'use strict';

const express = require('express');

const app = express();
app.use(express.json());

app.post('/scan-results', (req, res) => {
  if (req.headers.authorization !== `Bearer ${process.env.BEARER_TOKEN}`) {
    return res.status(401).json({ error: 'Invalid authentication' });
  }
  const { scanId, status, results, timestamp } = req.body;
  if (typeof scanId !== 'string' || !['completed', 'in_progress', 'failed'].includes(status)
      || typeof results?.threatsFound !== 'number' || !Array.isArray(results.details)
      || Number.isNaN(Date.parse(timestamp))) {
    return res.status(400).json({ error: 'Not a scan result' });
  }
  console.log(`received ${scanId} ${status} threatsFound=${results.threatsFound}`);
  res.status(200).json({ message: 'Scan results received successfully.' });
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
