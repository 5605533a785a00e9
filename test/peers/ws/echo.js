'use strict';
// Echo peer: every frame comes back unchanged, with its type (text or
// binary). Query parameters shape the handshake:
//   status=NNN        refuse the handshake with HTTP NNN
//   user=U&pass=P     require HTTP basic credentials U:P (else 401)
//   protocols=a,b     select the first subprotocol offered that is listed
// Path /headers first sends {"text": "<JSON of the handshake headers>"}.
// Each closed socket prints "closed <tag> <code>" (tag is the tag query).
// Path /collect gathers the texts of frames and, on a frame whose text is
// ".", answers {"text": "<texts joined by spaces>"} (a client stream).
const { start, message } = require('./lib');

start({
  verify(req, url) {
    const status = url.searchParams.get('status');
    if (status) return [Number(status), `refused with ${status} as asked`];
    const user = url.searchParams.get('user');
    if (user !== null) {
      const want = 'Basic ' + Buffer.from(`${user}:${url.searchParams.get('pass')}`).toString('base64');
      if (req.headers.authorization !== want) return [401, 'bad credentials'];
    }
    return null;
  },
  handleProtocols(offered, req) {
    const url = new URL(req.url, 'http://peer');
    const allowed = (url.searchParams.get('protocols') || '').split(',').filter(Boolean);
    for (const p of offered) if (allowed.includes(p)) return p;
    return false;
  },
  onConnection(ws, req, url) {
    if (url.pathname === '/headers') {
      const h = { authorization: req.headers.authorization || '', 'x-trace': req.headers['x-trace'] || '', 'x-static': req.headers['x-static'] || '', protocol: ws.protocol, traceparent: req.headers.traceparent || '', 'x-request-id': req.headers['x-request-id'] || '' };
      ws.send(JSON.stringify({ text: JSON.stringify(h) }));
    }
    const tag = url.searchParams.get('tag') || '-';
    ws.on('close', (code) => console.log(`closed ${tag} ${code}`));
    const texts = [];
    ws.on('message', (data, isBinary) => {
      if (url.pathname === '/collect') {
        const m = message(data) || {};
        if (m.text === '.') ws.send(JSON.stringify({ text: texts.join(' ') }));
        else texts.push(m.text);
        return;
      }
      ws.send(data, { binary: isBinary });
    });
  },
});
