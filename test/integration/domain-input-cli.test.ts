// domadd and fixup_domxml on domain XML that is not what it seems: a DOCTYPE, an undefined entity,
// two names, bytes that are not UTF-8, /dev/zero. Each is refused with one line and exit code 2,
// and the CIB file (CIB_file) stays byte-identical. No cluster runs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(path.join(tmpdir(), 'corral-domain-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CIB = path.join(dir, 'cib.xml');
writeFileSync(
  CIB,
  `<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config/>
    <nodes><node id="1" uname="n1"/></nodes>
    <resources/>
    <constraints/>
  </configuration>
  <status/>
</cib>
`,
);

const domain = (name: string, extra = '') => `<domain type="qemu">
  <name>${name}</name>
  <uuid>7e57da7a-0000-4000-8000-000000000001</uuid>
  <memory unit="MiB">512</memory>
  <vcpu>1</vcpu>${extra}
  <os><type arch="x86_64">hvm</type></os>
  <devices><serial type="pty"><log file="/var/log/corral/console/${name}.log" append="on"/></serial></devices>
</domain>
`;

function file(name: string, content: string | Buffer): string {
  const f = path.join(dir, name);
  writeFileSync(f, content);
  return f;
}

function cli(command: string, args: string[], input?: Buffer) {
  const r = spawnSync(path.join(ROOT, 'dist/bin', command), args, { env: { ...process.env, CIB_file: CIB }, input, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const big = file('big.xml', '');
truncateSync(big, 2 * 1024 * 1024);
const latin1 = Buffer.from(domain('gum', '\n  <description>caf\xe9</description>'), 'latin1');

const cases: [string, string, RegExp][] = [
  ['a DOCTYPE with an entity', file('doctype.xml', `<!DOCTYPE domain [<!ENTITY n "gum">]>\n${domain('&n;')}`), /: domain XML contains a DOCTYPE declaration \(line 1\)/],
  ['an undefined entity', file('entity.xml', domain('gum', '\n  <description>&nbsp;</description>')), /: domain XML uses the undefined entity &nbsp; \(line 6\)/],
  ['two names', file('names.xml', domain('gum', '\n  <name>elm</name>')), /: domain XML has 2 <name> elements; a domain has exactly one$/m],
  ['bytes that are not UTF-8', file('latin1.xml', latin1), /: domain XML is not UTF-8 text \(byte 0xE9 at offset 161\); convert it to UTF-8 first$/m],
  ['/dev/zero', '/dev/zero', /\/dev\/zero: domain XML is larger than 1 MiB$/m],
  ['a file of 2 MiB', big, /big\.xml: domain XML is larger than 1 MiB$/m],
];

describe.each(['domadd', 'fixup_domxml'])('%s refuses', (command) => {
  it.each(cases)('%s', (_what, input, message) => {
    const before = readFileSync(CIB);
    const r = cli(command, [input]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
    expect(readFileSync(CIB).equals(before)).toBe(true);
  });

  it('bytes that are not UTF-8 on standard input', () => {
    const r = cli(command, ['-'], latin1);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/-: domain XML is not UTF-8 text \(byte 0xE9 at offset 161\)/);
  });
});
