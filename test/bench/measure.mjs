// Runs inside a lab node: `node measure.mjs N CMD ARGS…` runs CMD N times and prints, as JSON,
// each run's wall time and CPU time (user + system of CMD and everything it waited for, from
// /proc/self/stat's cutime/cstime) and exit code.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux
function childCpuMs() {
  const s = readFileSync('/proc/self/stat', 'latin1');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * TICK_MS; // cutime, cstime
}

const [n, cmd, ...args] = process.argv.slice(2);
const runs = [];
for (let i = 0; i < Number(n); i++) {
  const cpu0 = childCpuMs();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  runs.push({ wallMs: wall, cpuMs: childCpuMs() - cpu0, code: r.status, stderr: r.status ? String(r.stderr).slice(-500) : '' });
}
process.stdout.write(JSON.stringify(runs));
