#!/usr/bin/env node
// The lab's stand-in for ssh as corral's node command (node_command in corral.conf, see
// lib/ops/config.ts): `lab-node-command.mjs LABDIR NODE COMMAND ARGS…` runs the few fixed
// commands corral sends to a node, against that node's files as the lab keeps them on the host
// (LABDIR/nodes/NODE/fs/var/log/…). All lab nodes share the host's kernel, so `uname -r` is this
// machine's. Anything else is refused.
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import path from 'node:path';

const [labDir, node, cmd, ...args] = process.argv.slice(2);
const fail = (msg) => {
  process.stderr.write(`lab-node-command: ${msg}\n`);
  process.exit(2);
};
if (!labDir || !node || !/^[a-z][a-z0-9-]*$/.test(node) || !cmd) fail('usage: LABDIR NODE COMMAND ARGS…');

function nodeFile(p) {
  if (!p || !p.startsWith('/var/log/') || p.split('/').includes('..')) fail(`refusing the path ${JSON.stringify(p)}`);
  return path.join(labDir, 'nodes', node, 'fs', p);
}

function read(p) {
  try {
    return readFileSync(nodeFile(p), 'utf8');
  } catch (e) {
    process.stderr.write(`${cmd}: ${p}: ${e.code === 'ENOENT' ? 'No such file or directory' : e.message}\n`);
    process.exit(1);
  }
}

if (cmd === 'uname' && args.join(' ') === '-r') {
  process.stdout.write(`${release()}\n`);
} else if (cmd === 'cat' && args.length === 2 && args[0] === '--') {
  process.stdout.write(read(args[1]));
} else if (cmd === 'tail' && args.length === 4 && args[0] === '-n' && /^\d+$/.test(args[1]) && args[2] === '--') {
  const lines = read(args[3]).split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const n = Number(args[1]);
  process.stdout.write(lines.slice(Math.max(0, lines.length - n)).join('\n') + (lines.length ? '\n' : ''));
} else {
  fail(`not a command corral sends: ${[cmd, ...args].join(' ')}`);
}
