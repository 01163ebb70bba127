import { describe, expect, it } from 'vitest';
import { matches, parseVmPattern, PatternError } from '../../lib/ops/patterns.js';
import { parseRequest } from '../../lib/ops/request.js';
import { cliExitCode } from '../../lib/cli/errors.js';
import { kindOf } from '../../lib/errors.js';

const vm = (name: string, ...nodes: string[]) => ({ name, nodes });
const opts = { yes: false, wait: true, json: false, log: false, force: false };

describe('VM patterns', () => {
  it('a plain name means exactly that VM', () => {
    const p = parseVmPattern('gum');
    expect(p.exact).toBe('gum');
    expect(matches(p, vm('gum'))).toBe(true);
    expect(matches(p, vm('gum2'))).toBe(false);
  });

  it('name globs match with * ? and [ ] classes, anchored', () => {
    const p = parseVmPattern('*web*');
    expect(p.exact).toBeUndefined();
    expect(['web1', 'oldweb', 'web', 'db1'].filter((n) => matches(p, vm(n)))).toEqual(['web1', 'oldweb', 'web']);
    expect(['db1', 'db2', 'db3', 'db12'].filter((n) => matches(parseVmPattern('db[12]'), vm(n)))).toEqual(['db1', 'db2']);
    expect(['db1', 'db2', 'db3'].filter((n) => matches(parseVmPattern('db[!12]'), vm(n)))).toEqual(['db3']);
    expect(['a1', 'a12'].filter((n) => matches(parseVmPattern('a?'), vm(n)))).toEqual(['a1']);
    expect(matches(parseVmPattern('g.m'), vm('gum'))).toBe(false);
  });

  it('NODE/NAME globs select by where the VM runs', () => {
    const p = parseVmPattern('hv17/*sql*');
    expect(matches(p, vm('mysql1', 'hv17'))).toBe(true);
    expect(matches(p, vm('mysql2', 'hv18'))).toBe(false);
    expect(matches(p, vm('mysql3'))).toBe(false);
    expect(matches(parseVmPattern('hv1*/*'), vm('x', 'hv12'))).toBe(true);
  });

  it.each([
    ['x; rm -rf /', /not a VM name or pattern/],
    ['--help', /do not start with "-"/],
    ['-rf', /do not start with "-"/],
    ['../../etc', /at most one "\/"/],
    ['..', /may not contain "\.\."/],
    ['a/../b', /at most one/],
    ['$(reboot)', /not a VM name or pattern/],
    ['`id`', /not a VM name or pattern/],
    ['gum name', /not a VM name or pattern/],
    ['', /empty/],
    ['/gum', /node part is empty/],
    ['web[', /unbalanced/],
    ['web[]', /empty \[ \] class/],
    ['we!b', /negates/],
    ['a'.repeat(64), /1-63/],
  ])('refuses %j before anything runs', (text, why) => {
    expect(() => parseVmPattern(text)).toThrow(PatternError);
    expect(() => parseVmPattern(text)).toThrow(why);
  });
});

describe('vm arguments', () => {
  it('refuse shell metacharacters, options as names and path tricks as usage errors', () => {
    for (const pattern of ['x; rm -rf /', '--help', '../../etc']) {
      let thrown: unknown;
      try {
        parseRequest({ pattern, action: 'reset', args: [], options: opts });
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(Error);
      expect(cliExitCode(kindOf(thrown))).toBe(2);
    }
  });

  it('know every action and refuse others', () => {
    expect(parseRequest({ pattern: 'gum', action: 'reset', args: [], options: opts }).action).toBe('reset');
    expect(() => parseRequest({ pattern: 'gum', action: 'rm', args: [], options: opts })).toThrow(/not an action/);
    expect(() => parseRequest({ pattern: 'gum', action: 'toString', args: [], options: opts })).toThrow(/not an action/);
    expect(() => parseRequest({ pattern: 'gum', action: '__proto__', args: [], options: opts })).toThrow(/not an action/);
  });

  it('check the action arguments: sysrq KEY, priority N, migrate NODE', () => {
    expect(parseRequest({ pattern: 'gum', action: 'sysrq', args: ['C'], options: opts }).arg).toBe('c');
    expect(() => parseRequest({ pattern: 'gum', action: 'sysrq', args: ['cc'], options: opts })).toThrow(/one letter or digit/);
    expect(() => parseRequest({ pattern: 'gum', action: 'sysrq', args: [], options: opts })).toThrow(/one letter/);
    expect(parseRequest({ pattern: 'gum', action: 'priority', args: ['-5'], options: opts }).arg).toBe(-5);
    expect(() => parseRequest({ pattern: 'gum', action: 'priority', args: ['1e3'], options: opts })).toThrow(/whole number/);
    expect(parseRequest({ pattern: 'gum', action: 'migrate', args: ['hv3'], options: opts }).arg).toBe('hv3');
    expect(() => parseRequest({ pattern: 'gum', action: 'migrate', args: ['hv3;id'], options: opts })).toThrow(/not a node name/);
    expect(() => parseRequest({ pattern: 'gum', action: 'reset', args: ['now'], options: opts })).toThrow(/takes no arguments/);
    expect(() => parseRequest({ pattern: 'gum', action: 'status', args: [], options: { ...opts, log: true } })).toThrow(/--log goes with console/);
  });
});
