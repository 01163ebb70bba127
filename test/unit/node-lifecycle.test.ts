// corral-node.service's decisions: when its stop drains the node, and what corral.conf may say
// about it.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfigText } from '../../lib/ops/config.js';
import { shouldDrainOnStop, underSystemd } from '../../lib/ops/node-lifecycle.js';

describe('the stop of corral-node.service', () => {
  it('drains when the system shuts down, or when run by hand', () => {
    expect(shouldDrainOnStop(true, true, 'stopping')).toEqual({ drain: true, why: 'the system is shutting down' });
    expect(shouldDrainOnStop(true, false, undefined).drain).toBe(true);
  });

  it('does not drain for a package upgrade or removal, or systemctl stop, while the system runs', () => {
    for (const state of ['running', 'degraded', 'starting', 'maintenance', undefined]) {
      const d = shouldDrainOnStop(true, true, state);
      expect(d.drain, String(state)).toBe(false);
      expect(d.why).toMatch(/not shut down/);
    }
  });

  it('never drains with shutdown_drain = no', () => {
    expect(shouldDrainOnStop(false, true, 'stopping')).toEqual({ drain: false, why: 'shutdown_drain = no in corral.conf' });
    expect(shouldDrainOnStop(false, false, undefined).drain).toBe(false);
  });

  it('knows systemd started it by INVOCATION_ID', () => {
    expect(underSystemd({ INVOCATION_ID: '5b1c' })).toBe(true);
    expect(underSystemd({})).toBe(false);
  });
});

describe('corral.conf for corral-node.service', () => {
  it('defaults: drain at shutdown within 600 s, no undrain at boot', async () => {
    const c = await loadConfig({ uid: 1000, env: { CORRAL_ETC: '/nonexistent/corral' } });
    expect({ d: c.shutdownDrain, t: c.shutdownDrainTimeout, b: c.bootUndrain }).toEqual({ d: true, t: 600, b: 'no' });
  });

  it('reads shutdown_drain, shutdown_drain_timeout and boot_undrain', () => {
    expect(parseConfigText('shutdown_drain = no\nshutdown_drain_timeout = 900\nboot_undrain = return\n')).toEqual({ shutdown_drain: 'no', shutdown_drain_timeout: 900, boot_undrain: 'return' });
  });

  it.each([
    ['shutdown_drain = maybe', /shutdown_drain: expected yes or no/],
    ['shutdown_drain_timeout = 10m', /shutdown_drain_timeout: expected a number of seconds/],
    ['shutdown_drain_timeout = 1200', /shutdown_drain_timeout: expected 30 to 1080 seconds/],
    ['shutdown_drain_timeout = 5', /expected 30 to 1080 seconds/],
    ['boot_undrain = always', /boot_undrain: expected no, yes or return/],
  ])('refuses %j', (text, why) => {
    expect(() => parseConfigText(text)).toThrow(ConfigError);
    expect(() => parseConfigText(text)).toThrow(why);
  });
});
