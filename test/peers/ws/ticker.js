'use strict';
// Ticker peer: after the first frame (the subscription, JSON with an
// optional afterSeq/after_seq), pushes {"seq": n} for n = afterSeq+1 ...
// as fast as it can, ignoring whether the client keeps up. Query:
//   count=N       stop after seq N, then close with `close` (default 1000)
//   close=CODE    the close code after the last frame
//   drop_after=M  on the first connection only, drop the TCP connection
//                 abruptly (no close frame) after seq M
//   tag=T         name used in the lines printed on stdout:
//                 "subscribed T <conn#> <afterSeq>" and, once every frame
//                 of the connection reached the kernel, "pushed T <frames>".
const { start, message } = require('./lib');

const conns = new Map();

start({
  onConnection(ws, req, url) {
    const tag = url.searchParams.get('tag') || '-';
    const n = (conns.get(tag) || 0) + 1;
    conns.set(tag, n);
    const count = Number(url.searchParams.get('count') || Infinity);
    const code = Number(url.searchParams.get('close') || 1000);
    const dropAfter = n === 1 && url.searchParams.has('drop_after') ? Number(url.searchParams.get('drop_after')) : Infinity;
    ws.once('message', (data) => {
      const m = message(data) || {};
      const after = Number(m.afterSeq ?? m.after_seq ?? 0);
      console.log(`subscribed ${tag} ${n} ${after}`);
      let seq = after;
      let flushed = 0;
      let pushed = 0;
      const push = () => {
        while (ws.readyState === ws.OPEN && seq < count) {
          if (seq >= dropAfter) {
            ws._socket.destroy();
            return;
          }
          seq++;
          pushed++;
          ws.send(JSON.stringify({ seq: String(seq) }), () => {
            if (++flushed === pushed && seq >= Math.min(count, dropAfter)) console.log(`pushed ${tag} ${flushed}`);
          });
          // Yield now and then so that close frames and stdin are served.
          if (seq % 256 === 0) return setImmediate(push);
        }
        if (seq >= count && ws.readyState === ws.OPEN) ws.close(code, 'done');
      };
      push();
    });
  },
});
