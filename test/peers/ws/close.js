'use strict';
// Closing peer: the path gives the close code, /close/<code>, or /drop for
// an abrupt end (the TCP connection is destroyed without a close frame).
// It acts after `after` frames from the client (query, default 0: at once),
// closing with the `reason` query as the close reason.
const { start } = require('./lib');

start({
  onConnection(ws, req, url) {
    const after = Number(url.searchParams.get('after') || 0);
    const reason = url.searchParams.get('reason') || '';
    const act = () => {
      if (url.pathname === '/drop') return ws._socket.destroy();
      const m = url.pathname.match(/^\/close\/(\d+)$/);
      ws.close(m ? Number(m[1]) : 1000, reason);
    };
    if (after === 0) return act();
    let seen = 0;
    ws.on('message', () => {
      if (++seen === after) act();
    });
  },
});
