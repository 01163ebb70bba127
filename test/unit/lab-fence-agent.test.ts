// fence_corral_lab's protocol: options from stdin (as pacemaker-fenced sends them) or the command
// line, validation, metadata, exit codes — against a stand-in power controller on a unix socket.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, metadataXml, parseArgv, parseStdin, runFenceAgent, validate } from '../../lib/lab/fence-agent.js';

let dir: string;
let socket: string;
let server: Server;
const requests: unknown[] = [];
const power: Record<string, 'on' | 'off'> = { n1: 'on', n2: 'off' };

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fence-'));
  socket = path.join(dir, 'power.sock');
  server = createServer((c) => {
    c.setEncoding('utf8');
    let buf = '';
    c.on('data', (d: string) => {
      buf += d;
      if (!buf.includes('\n')) return;
      const req = JSON.parse(buf) as { op: string; node?: string };
      requests.push(req);
      if (req.op === 'list') c.end(`${JSON.stringify({ ok: true, nodes: Object.keys(power) })}\n`);
      else if (req.node === 'n9') c.end(`${JSON.stringify({ ok: false, error: 'lab x has no node n9' })}\n`);
      else if (req.op === 'status') c.end(`${JSON.stringify({ ok: true, state: power[req.node!] })}\n`);
      else {
        power[req.node!] = req.op === 'off' ? 'off' : 'on';
        c.end(`${JSON.stringify({ ok: true, state: power[req.node!] })}\n`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
});

afterAll(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

async function agent(argv: string[], stdin?: string) {
  let out = '';
  let err = '';
  const code = await runFenceAgent(argv, stdin, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('fence_corral_lab options', () => {
  it('reads key=value lines from stdin, ignoring comments and keys it does not know', () => {
    expect(parseStdin('# from pacemaker\naction=reboot\nnodename=n2\nport=n2\nsocket=/x/power.sock\npcmk_host_list=n1 n2\n')).toEqual({
      action: 'reboot',
      plug: 'n2',
      socket: '/x/power.sock',
    });
  });

  it('takes the node from plug over port over nodename, whatever the order', () => {
    expect(parseStdin('plug=a\nport=b\nnodename=c\n').plug).toBe('a');
    expect(parseStdin('nodename=c\nport=b\n').plug).toBe('b');
    expect(parseStdin('nodename=c\n').plug).toBe('c');
  });

  it('reads the fence-agents command-line flags', () => {
    expect(parseArgv(['-o', 'status', '-n', 'n1', '--socket=/x/power.sock'])).toEqual({ action: 'status', plug: 'n1', socket: '/x/power.sock' });
    expect(parseArgv(['--action', 'off', '--plug', 'n2', '--socket', '/y.sock'])).toEqual({ action: 'off', plug: 'n2', socket: '/y.sock' });
    expect(() => parseArgv(['--bogus=1'])).toThrow(/unknown option --bogus/);
    expect(() => parseArgv(['-o'])).toThrow(/needs a value/);
  });

  it('refuses an unknown action, a node name with shell characters, a relative socket', () => {
    expect(() => validate({ action: 'explode' })).toThrow(/action/);
    expect(() => validate({ action: 'off', plug: 'n1;rm -rf /' })).toThrow(/plug/);
    expect(() => validate({ action: 'off', socket: 'power.sock' })).toThrow(/socket/);
  });

  it('defaults to reboot, as fence agents do', () => {
    expect(validate({}).action).toBe('reboot');
  });
});

describe('fence_corral_lab actions', () => {
  it('prints metadata that names its parameters and actions', async () => {
    const r = await agent([], 'action=metadata\n');
    expect(r.code).toBe(EXIT.ok);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(r.out) as {
      'resource-agent': { name: string; parameters: { parameter: { name: string }[] }; actions: { action: { name: string }[] } };
    };
    expect(doc['resource-agent'].name).toBe('fence_corral_lab');
    expect(doc['resource-agent'].parameters.parameter.map((p) => p.name)).toEqual(expect.arrayContaining(['action', 'plug', 'port', 'socket']));
    expect(doc['resource-agent'].actions.action.map((a) => a.name)).toEqual(
      expect.arrayContaining(['on', 'off', 'reboot', 'status', 'monitor', 'list', 'metadata']),
    );
    expect(r.out).toBe(metadataXml());
  });

  it('status exits 0 for a node that is on and 2 for one that is off', async () => {
    expect((await agent(['-o', 'status', '-n', 'n1', '--socket', socket])).code).toBe(EXIT.ok);
    const off = await agent([], `action=status\nport=n2\nsocket=${socket}\n`);
    expect(off.code).toBe(EXIT.off);
    expect(off.out).toContain('Status: OFF');
  });

  it('off, on and reboot ask the power controller and succeed', async () => {
    requests.length = 0;
    expect((await agent([], `action=off\nport=n1\nsocket=${socket}\n`)).code).toBe(EXIT.ok);
    expect(power.n1).toBe('off');
    expect((await agent([], `action=reboot\nnodename=n1\nsocket=${socket}\n`)).code).toBe(EXIT.ok);
    expect(power.n1).toBe('on');
    expect(requests).toMatchObject([{ op: 'off', node: 'n1' }, { op: 'reboot', node: 'n1' }]);
  });

  it('lists the nodes, and monitor succeeds while the controller answers', async () => {
    const l = await agent(['-o', 'list', '--socket', socket]);
    expect(l).toMatchObject({ code: EXIT.ok, out: 'n1,\nn2,\n' });
    expect((await agent(['-o', 'monitor', '--socket', socket])).code).toBe(EXIT.ok);
  });

  it('fails (1) with the reason when the controller refuses, is absent, or the node is missing', async () => {
    const refused = await agent(['-o', 'off', '-n', 'n9', '--socket', socket]);
    expect(refused.code).toBe(EXIT.error);
    expect(refused.err).toContain('has no node n9');
    const absent = await agent(['-o', 'monitor', '--socket', path.join(dir, 'nobody.sock')]);
    expect(absent.code).toBe(EXIT.error);
    expect(absent.err).toContain('no power controller listens');
    const noNode = await agent([], `action=off\nsocket=${socket}\n`);
    expect(noNode.code).toBe(EXIT.error);
    expect(noNode.err).toContain('needs the node');
  });
});
