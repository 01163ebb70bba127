// Runs inside a lab node: `node signal-responder.mjs SOCKET` connects to a domain's startup_signal
// socket, answers the first "ready TOKEN" with "ack TOKEN" and exits: the host side of the
// startup signal for an agent that has none (VirtualDomain), so both agents reach "ready".
import { createConnection } from 'node:net';

const path = process.argv[2];
const until = Date.now() + 120_000;
function attempt() {
  const s = createConnection(path);
  let buf = '';
  s.setEncoding('utf8');
  s.on('data', (d) => {
    buf += d;
    const m = /ready (\S+)\n/.exec(buf);
    if (m) s.end(`ack ${m[1]}\n`, () => process.exit(0));
  });
  s.on('error', () => (Date.now() < until ? setTimeout(attempt, 100) : process.exit(1)));
}
attempt();
