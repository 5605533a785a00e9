'use strict';
// Slow reader peer: pauses reading from each new socket at once, so that
// the client's frames pile up in TCP buffers and its writes block. It
// prints "paused T" (T is the tag query). The line "resume T" on stdin
// resumes reading; when the client closes, it prints "received T <n>" with
// the number of frames it read.
const { start } = require('./lib');

const paused = new Map();

start({
  onConnection(ws, req, url) {
    const tag = url.searchParams.get('tag') || '-';
    let received = 0;
    ws.pause();
    paused.set(tag, ws);
    ws.on('message', () => received++);
    ws.on('close', () => console.log(`received ${tag} ${received}`));
    console.log(`paused ${tag}`);
  },
  onLine(line) {
    const [cmd, tag] = line.split(' ');
    if (cmd === 'resume' && paused.has(tag)) {
      paused.get(tag).resume();
      paused.delete(tag);
    }
  },
});
