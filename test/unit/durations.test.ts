// lib/cib/durations.ts: Pacemaker's durations, read the same way by domadd --replace (op
// intervals), vm's waits (op timeouts) and the agent (its own action timeouts).
import { describe, expect, it } from 'vitest';
import { LIFETIME_RE, pacemakerMs } from '../../lib/cib/durations.js';

describe('pacemakerMs', () => {
  it.each([
    ['300s', 300_000],
    ['120', 120_000],
    ['2min', 120_000],
    ['2m', 120_000],
    ['500ms', 500],
    ['1h', 3_600_000],
    [' 10 sec ', 10_000],
    ['10S', 10_000],
  ])('%s is %d ms', (text, ms) => expect(pacemakerMs(text)).toBe(ms));

  it.each(['', '1.5s', '10x', 'PT1H', '-5s'])('%j is not a Pacemaker duration', (text) => expect(pacemakerMs(text)).toBeUndefined());

  it('reads every timeout of the agent\'s own table', async () => {
    const { transientDomainSpec } = await import('../../lib/ocf/transient-domain.js');
    for (const a of transientDomainSpec.actions) expect(pacemakerMs(a.timeout), a.name).toBeGreaterThan(0);
  });
});

describe('LIFETIME_RE', () => {
  it.each(['PT1H', 'PT30M', 'P1D', 'P1W', 'P1DT12H', 'none'])('takes %s', (t) => expect(LIFETIME_RE.test(t)).toBe(true));
  it.each(['P', 'PT', '1H', 'PT1.5H', 'forever', 'P1H'])('refuses %s', (t) => expect(LIFETIME_RE.test(t)).toBe(false));
});
