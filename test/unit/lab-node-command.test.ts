// The lab's corral.conf and node command (lib/lab/node-command.ts): the settings are ones corral
// accepts and turn into the expected command line; the service runs a command for a caller with
// the lab's key and refuses everyone else. Service and client talk over 127.0.0.1 here (in a lab,
// over the lab's bridge).
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo, Server } from 'node:net';
import { release, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labCorralConf, nodeCommandCall, NodeCommandError, nodeCommandServer } from '../../lib/lab/node-command.js';
import type { Lab } from '../../lib/lab/state.js';
import { nodeCommandArgv, nodeUri, parseConfigText } from '../../lib/ops/config.js';

function lab(dir: string, name = 'h12', nodeNames = ['n1', 'n2']): Lab {
  const nodes = nodeNames.map((n, i) => ({
    lab: name, name: n, index: i + 1, address: `10.9.9.${11 + i}`, hostUuid: 'x', netns: `corral.${name}.${n}`, switchIf: `vn${i + 1}`, dir: `${dir}/nodes/${n}`,
  }));
  return { name, dir, subnet: '10.9.9', switchNetns: `corral.${name}`, bridge: 'br0', nodes };
}

describe("the lab nodes' corral.conf", () => {
  it('is a corral.conf that vm and corral accept: libvirt over tcp, the node command through the lab', () => {
    const conf = parseConfigText(labCorralConf(lab('/var/lib/corral-lab/h12')));
    expect(nodeUri(conf.libvirt_uri!, 'n2')).toBe('qemu+tcp://n2/system');
    expect(nodeCommandArgv(conf.node_command!, 'n2', ['tail', '-n', '5', '--', '/var/log/corral/console/web.log'])).toEqual([
      '/usr/sbin/corral', 'lab', 'node-command', '--name', 'h12', 'n2', '--', 'tail', '-n', '5', '--', '/var/log/corral/console/web.log',
    ]);
  });

  it('names a state directory that is not the default', () => {
    const conf = parseConfigText(labCorralConf(lab('/srv/labs/x1', 'x1')));
    expect(nodeCommandArgv(conf.node_command!, 'n1', ['uname', '-r']).slice(0, 8)).toEqual([
      '/usr/sbin/corral', 'lab', 'node-command', '--name', 'x1', '--state-dir', '/srv/labs', 'n1',
    ]);
  });
});

describe('the node-command service and its client', () => {
  let dir: string;
  let server: Server;
  let port: number;
  const logged: string[] = [];
  const KEY = 'a'.repeat(64);
  const local = () => lab(dir, 't', ['localhost']);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'corral-node-command-'));
    server = nodeCommandServer('localhost', KEY, (l) => logged.push(l));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("runs a command for a caller with the lab's key and passes output and exit code on", async () => {
    await writeFile(path.join(dir, 'node-command.key'), `${KEY}\n`, { mode: 0o600 });
    expect(await nodeCommandCall(local(), 'localhost', ['uname', '-r'], { port })).toEqual({ exitCode: 0, stdout: `${release()}\n`, stderr: '' });
    const missing = await nodeCommandCall(local(), 'localhost', ['cat', '--', '/nonexistent/x.log'], { port });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('No such file');
    expect(logged.some((l) => l.includes('uname -r -> exit 0'))).toBe(true);
  });

  it('refuses a caller with another key, and runs nothing', async () => {
    const marker = path.join(dir, 'ran');
    await writeFile(path.join(dir, 'node-command.key'), `${'b'.repeat(64)}\n`, { mode: 0o600 });
    const r = await nodeCommandCall(local(), 'localhost', ['touch', marker], { port });
    expect(r).toMatchObject({ exitCode: 255, stdout: '' });
    expect(r.stderr).toContain("refused: not this lab's node-command key");
    expect(existsSync(marker)).toBe(false);
  });

  it('sends plain words only, and says when the node cannot be reached or the key cannot be read', async () => {
    await writeFile(path.join(dir, 'node-command.key'), `${KEY}\n`, { mode: 0o600 });
    await expect(nodeCommandCall(local(), 'localhost', ['sh', '-c', 'id; reboot'], { port })).rejects.toThrow(/refusing to send "id; reboot"/);
    await expect(nodeCommandCall(local(), 'localhost', ['true'], { port: 1 })).rejects.toThrow(NodeCommandError);
    await expect(nodeCommandCall(local(), 'localhost', ['true'], { port: 1 })).rejects.toThrow(/cannot reach localhost's node-command service \(localhost:1\): ECONNREFUSED/);
    await rm(path.join(dir, 'node-command.key'));
    await expect(nodeCommandCall(local(), 'localhost', ['true'], { port })).rejects.toThrow(/node-command key .* no such file/);
  });
});
