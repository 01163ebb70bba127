// vm NAME console --log prints console_log_dir/NAME.log and nothing else, whatever the domain XML's
// <log file> says (vm runs as root under sudo: a log path from the XML would print any file).
// On a CIB file; the node command is a script that runs the reader here.
import { chmod, copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { Cib } from '../../lib/cib/model.js';
import { run } from '../../lib/host/exec.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const VM = path.join(ROOT, 'dist/bin/vm');
let dir = '';
let cib = '';

async function setParam(name: string, value: string): Promise<void> {
  const r = await run('crm_resource', ['--resource', 'vm-web1', '--set-parameter', name, '--parameter-value', value], { env: { CIB_file: cib }, timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new Error(`crm_resource: ${r.stderr}`);
}

describe('vm NAME console --log', () => {
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'corral-console-log-'));
    cib = path.join(dir, 'cib.xml');
    await copyFile(path.join(ROOT, 'test/fixtures/recorded/steady/cib.xml'), cib);
    await writeFile(path.join(dir, 'on'), '#!/bin/sh\nshift\nexec "$@"\n');
    await chmod(path.join(dir, 'on'), 0o755);
    await writeFile(path.join(dir, 'corral.conf'), `audit_log = ${dir}/vm.log\nnode_command = ${dir}/on {node}\n`);
    await mkdir(path.join(dir, 'console'));
    await writeFile(path.join(dir, 'console/web1.log'), 'web1 booted\n');
    await writeFile(path.join(dir, 'secret'), 'SECRET\n');
    await setParam('console_log_dir', path.join(dir, 'console'));
  });

  it('reads console_log_dir/NAME.log, not the file a <log file> in the XML names', async () => {
    const config = Cib.parse(await readFile(cib, 'utf8')).resource('vm-web1')?.params.config ?? '';
    expect(config).toContain('/var/log/corral/console/web1.log');
    await setParam('config', config.replace('/var/log/corral/console/web1.log', path.join(dir, 'secret')));
    const r = await run(process.execPath, [VM, 'web1', 'console', '--log'], { env: { CIB_file: cib, CORRAL_ETC: dir, SUDO_USER: undefined }, timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe('web1 booted');
  });
});
