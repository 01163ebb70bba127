// TransientDomain's `config`: inline XML, or an absolute path to a regular file of at most 1 MiB,
// read without ever blocking; what every action then knows about it (makeContext).
import { mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { quickIdentity, rawEnvValue, readConfig } from '../../lib/vm/config.js';
import { makeContext } from '../../lib/vm/context.js';
import { realHost } from '../../lib/host/agent-host.js';

const XML = '<domain type="qemu"><name>gum</name><uuid>0d4e1f52-1c1a-4f6c-9a55-3c1c2b0d9e11</uuid></domain>';
const dir = mkdtempSync(path.join(tmpdir(), 'corral-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const f = path.join(dir, name);
  writeFileSync(f, content);
  return f;
}

describe('readConfig', () => {
  it('takes a value starting with "<" as the XML itself, and an absolute path as a file holding it', () => {
    expect(readConfig(`  ${XML}`)).toEqual({ ok: true, xml: `  ${XML}`, inline: true });
    expect(readConfig(file('gum.xml', XML))).toEqual({ ok: true, xml: XML, inline: false });
    const link = path.join(dir, 'link.xml');
    symlinkSync(path.join(dir, 'gum.xml'), link);
    expect(readConfig(link)).toEqual({ ok: true, xml: XML, inline: false });
  });

  it('refuses a relative path: the agent runs in whatever directory Pacemaker gives it', () => {
    expect(readConfig('gum.xml')).toEqual({ ok: false, error: 'config "gum.xml" is neither domain XML (starting with "<") nor the absolute path of a file holding it' });
  });

  it('refuses what is not a regular file without reading it', () => {
    expect(readConfig(dir)).toEqual({ ok: false, error: `the domain XML file ${dir} is a directory, not a regular file` });
    expect(readConfig('/dev/null')).toEqual({ ok: false, error: 'the domain XML file /dev/null is a character device, not a regular file' });
    expect(readConfig('/nonexistent/gum.xml')).toEqual({ ok: false, error: 'cannot read the domain XML file /nonexistent/gum.xml: no such file' });
  });

  it('refuses a file larger than 1 MiB, and reads one of exactly 1 MiB', () => {
    const big = file('big.xml', '');
    truncateSync(big, 1024 * 1024 + 1);
    expect(readConfig(big)).toEqual({ ok: false, error: `the domain XML file ${big} is larger than 1 MiB (1048577 bytes)` });
    const max = file('max.xml', XML.padEnd(1024 * 1024, ' '));
    expect(readConfig(max).ok).toBe(true);
  });

  it('reads files whose size the kernel does not know (as in /proc) up to the same bound', () => {
    const r = readConfig('/proc/self/status');
    expect(r.ok && r.xml).toMatch(/^Name:/);
  });

  it('refuses a file that is not UTF-8 instead of turning its bytes into U+FFFD', () => {
    const f = file('latin1.xml', Buffer.from('<domain><name>caf\xe9</name></domain>', 'latin1'));
    expect(readConfig(f)).toEqual({ ok: false, error: `the domain XML file ${f} is not UTF-8 text (byte 0xE9 at offset 17); convert it to UTF-8 first` });
  });

  it('says when config is not set', () => {
    expect(readConfig(undefined)).toEqual({ ok: false, error: 'parameter config is not set' });
    expect(readConfig('  ')).toEqual({ ok: false, error: 'parameter config is not set' });
  });
});

describe('quickIdentity', () => {
  it('skips CDATA sections, as it skips comments and metadata', () => {
    const xml = '<domain><description><![CDATA[<name>decoy</name>]]></description><name>gum</name></domain>';
    expect(quickIdentity(xml)).toEqual({ name: 'gum' });
  });
});

describe('makeContext', () => {
  it('gives every action the reason a config file is unusable, not its contents', () => {
    const ctx = makeContext('start', { OCF_RESKEY_config: '/dev/zero' }, realHost, Date.now(), undefined);
    expect(ctx.doc).toBeUndefined();
    expect(ctx.configError).toBe('the domain XML file /dev/zero is a character device, not a regular file');
  });

  it('refuses an inline config whose bytes, as received, are not UTF-8', () => {
    const latin1 = Buffer.from('<domain><name>caf\xe9</name></domain>', 'latin1');
    const ctx = makeContext('validate-all', { OCF_RESKEY_config: latin1.toString('utf8') }, realHost, Date.now(), latin1);
    expect(ctx.doc).toBeUndefined();
    expect(ctx.configError).toBe('config is not UTF-8 text (byte 0xE9 at offset 17); convert it to UTF-8 first');
    const ok = Buffer.from('<domain><name>café</name></domain>');
    expect(makeContext('validate-all', { OCF_RESKEY_config: ok.toString('utf8') }, realHost, Date.now(), ok).doc?.name).toBe('café');
  });

  it('refuses a domain XML with two names, a DOCTYPE or an undefined entity', () => {
    for (const [xml, why] of [
      ['<domain><name>a</name><name>b</name></domain>', 'invalid domain XML: domain XML has 2 <name> elements; a domain has exactly one'],
      ['<!DOCTYPE domain><domain><name>a</name></domain>', /^invalid domain XML: domain XML contains a DOCTYPE declaration/],
      ['<domain><name>a&x;</name></domain>', /^invalid domain XML: domain XML uses the undefined entity &x;/],
    ] as const) {
      const ctx = makeContext('start', { OCF_RESKEY_config: xml }, realHost, Date.now(), undefined);
      expect(ctx.doc, xml).toBeUndefined();
      expect(ctx.configError).toMatch(why);
    }
  });

  it('tells a probe (monitor without interval) from a recurring monitor, as ocf_is_probe does', () => {
    const probe = (action: string, interval?: string) =>
      makeContext(action, { OCF_RESKEY_config: XML, ...(interval === undefined ? {} : { OCF_RESKEY_CRM_meta_interval: interval }) }, realHost).probe;
    expect(probe('monitor')).toBe(true);
    expect(probe('monitor', '0')).toBe(true);
    expect(probe('monitor', '10000')).toBe(false);
    expect(probe('stop')).toBe(false);
  });
});

describe('rawEnvValue', () => {
  it("reads a variable's bytes as this process received them", () => {
    expect(rawEnvValue('PATH')?.toString()).toBe(process.env.PATH);
    expect(rawEnvValue('CORRAL_NO_SUCH_VARIABLE')).toBeUndefined();
  });
});
