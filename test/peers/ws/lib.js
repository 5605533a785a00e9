'use strict';
// Shared start-up of the ws test peers: an HTTP server on 127.0.0.1 whose
// upgrades go to a ws WebSocketServer. The port comes from argv[2] or PORT
// (0 picks a free one); once listening the peer prints "ready <port>". The
// peer exits when its stdin closes, so it never outlives the test.
const http = require('http');
const readline = require('readline');
const { WebSocketServer } = require('ws');

// start serves upgrades with onConnection(ws, req, url). verify(req, url)
// may refuse a handshake by returning [status, body]. onLine receives the
// lines written to stdin.
function start({ onConnection, verify, handleProtocols, onLine }) {
  const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
  const wss = new WebSocketServer({ noServer: true, handleProtocols, maxPayload: 64 << 20 });
  const server = http.createServer((req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain' });
    res.end('upgrade required\n');
  });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url, 'http://peer');
    const refusal = verify ? verify(req, url) : null;
    if (refusal) {
      const [status, body] = refusal;
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req, url));
  });
  server.listen(port, '127.0.0.1', () => console.log(`ready ${server.address().port}`));
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => onLine && onLine(line.trim()));
  rl.on('close', () => process.exit(0));
}

// message parses a JSON frame; null when it is not JSON.
function message(data) {
  try {
    return JSON.parse(data.toString());
  } catch {
    return null;
  }
}

module.exports = { start, message };
