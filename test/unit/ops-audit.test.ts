import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditLog, formatAudit, parseAuditLine } from '../../lib/ops/audit.js';

describe('the audit log', () => {
  it('writes who, what, which VM, where and the result on one line', () => {
    const line = formatAudit({ user: 'alice', action: 'reset', vm: 'gum', node: 'n1', result: 'ok' }, new Date('2026-11-21T06:50:00.123Z'));
    expect(line).toBe('2026-11-21T06:50:00.123Z user=alice action=reset vm=gum node=n1 result=ok');
  });

  it('quotes what could be mistaken for more fields, and keeps it on one line', () => {
    const line = formatAudit({ user: 'bob', action: 'reset', vm: 'x; rm -rf /', result: 'refused', detail: 'a "quoted"\nline result=ok' }, new Date(0));
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toContain('vm="x; rm -rf /"');
    const back = parseAuditLine(line);
    expect(back).toMatchObject({ user: 'bob', vm: 'x; rm -rf /', result: 'refused', detail: 'a "quoted" line result=ok' });
  });

  it('appends to its file and reads back the entries of one VM', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'corral-audit-'));
    const log = new AuditLog(path.join(dir, 'sub/vm.log'));
    await log.write({ user: 'alice', action: 'reset', vm: 'gum', result: 'started' });
    await log.write({ user: 'alice', action: 'reset', vm: 'gum', node: 'n1', result: 'ok' });
    await log.write({ user: 'bob', action: 'status', vm: 'elm', result: 'ok' });
    const text = await readFile(path.join(dir, 'sub/vm.log'), 'utf8');
    expect(text.trim().split('\n')).toHaveLength(3);
    const gum = await log.entriesFor('gum');
    expect(gum.map((e) => e.result)).toEqual(['started', 'ok']);
    expect(gum[1]?.node).toBe('n1');
  });
});
