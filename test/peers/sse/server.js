'use strict';
// SSE and NDJSON peer on 127.0.0.1, built on better-sse (events) and ndjson
// (lines), both pinned in ../package-lock.json. The port comes from argv[2]
// or PORT (0 picks a free one); once listening it prints "ready <port>". It
// exits when its stdin closes, so it never outlives the test.
//
//   GET /events?count=N&dropAfter=M&tag=T
//       Server-Sent Events "tick" with id n and data {"seq":"n","text":"tick n"}
//       for n = Last-Event-ID+1 ... N, then ends the response. On the first
//       connection of tag T only, the socket is destroyed after seq M (no
//       final chunk). Prints "connected T <conn#> <Last-Event-ID>".
//   GET /ndjson?count=N
//       application/x-ndjson lines {"seq":"n","text":"line n"} for n = 1 ... N.
const http = require('http');
const readline = require('readline');
const { createSession } = require('better-sse');
const ndjson = require('ndjson');

const conns = new Map();

async function events(req, res, url) {
  const tag = url.searchParams.get('tag') || '-';
  const n = (conns.get(tag) || 0) + 1;
  conns.set(tag, n);
  const count = Number(url.searchParams.get('count') || 3);
  const dropAfter = n === 1 && url.searchParams.has('dropAfter') ? Number(url.searchParams.get('dropAfter')) : Infinity;
  const session = await createSession(req, res, { retry: 5, keepAlive: null });
  console.log(`connected ${tag} ${n} ${session.lastId}`);
  for (let seq = Number(session.lastId || 0) + 1; seq <= count && session.isConnected; seq++) {
    session.push({ seq: String(seq), text: `tick ${seq}` }, 'tick', String(seq));
    if (seq >= dropAfter) {
      // Let the event reach the socket, then break the connection.
      return setImmediate(() => res.socket.destroy());
    }
  }
  res.end();
}

function lines(req, res, url) {
  const count = Number(url.searchParams.get('count') || 3);
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
  const out = ndjson.stringify();
  out.pipe(res);
  for (let seq = 1; seq <= count; seq++) out.write({ seq: String(seq), text: `line ${seq}` });
  out.end();
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://peer');
  if (url.pathname === '/events') return void events(req, res, url);
  if (url.pathname === '/ndjson') return lines(req, res, url);
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found\n');
});
server.listen(Number(process.argv[2] ?? process.env.PORT ?? 0), '127.0.0.1', () => console.log(`ready ${server.address().port}`));
readline.createInterface({ input: process.stdin }).on('close', () => process.exit(0));
