import { describe, expect, it } from 'vitest';
import { AccessFileError, mayDo, parseAccessFile, permittingRule, type Caller } from '../../lib/ops/access.js';

const FILE = `
# WHO            ACTIONS                  VMS
alice            console,status,where     web-*,db1     # alice looks after the web
%webadmins       *                        web-*,@web
bob,%helpdesk    status,where             *
carol            reset                    db[12]
`;

const rules = parseAccessFile(FILE);
const caller = (user: string, ...groups: string[]): Caller => ({ user, groups: [user, ...groups], root: false });
const vm = (name: string, ...tags: string[]) => ({ name, tags });

describe('access file: who may do what to which VM', () => {
  it('parses one rule per line, with comments and blank lines', () => {
    expect(rules.map((r) => r.line)).toEqual([3, 4, 5, 6]);
    expect(rules[1]?.actions).toContain('edit');
    expect(rules[0]?.who).toEqual([{ user: 'alice' }]);
    expect(rules[2]?.who).toEqual([{ user: 'bob' }, { group: 'helpdesk' }]);
  });

  it('allows a user what a rule naming them allows, on the VMs it names', () => {
    expect(mayDo(rules, caller('alice'), 'console', vm('web-1'))).toBe(true);
    expect(mayDo(rules, caller('alice'), 'status', vm('db1'))).toBe(true);
    expect(permittingRule(rules, caller('alice'), 'console', vm('web-1'))?.line).toBe(3);
  });

  it('refuses actions and VMs no rule names', () => {
    expect(mayDo(rules, caller('alice'), 'reset', vm('web-1'))).toBe(false);
    expect(mayDo(rules, caller('alice'), 'console', vm('db2'))).toBe(false);
    expect(mayDo(rules, caller('alice'), 'console', vm('web1'))).toBe(false); // web-* needs the dash
    expect(mayDo(rules, caller('mallory'), 'status', vm('web-1'))).toBe(false);
  });

  it('allows through a group, and * means every action', () => {
    expect(mayDo(rules, caller('dave', 'webadmins'), 'edit', vm('web-9'))).toBe(true);
    expect(mayDo(rules, caller('dave', 'webadmins'), 'migrate', vm('db1'))).toBe(false);
    expect(mayDo(rules, caller('erin', 'helpdesk'), 'status', vm('anything'))).toBe(true);
    expect(mayDo(rules, caller('erin', 'helpdesk'), 'console', vm('anything'))).toBe(false);
  });

  it('@TAG selects the VMs in a Pacemaker tag', () => {
    expect(mayDo(rules, caller('dave', 'webadmins'), 'reset', vm('frontend', 'web'))).toBe(true);
    expect(mayDo(rules, caller('dave', 'webadmins'), 'reset', vm('frontend', 'dns'))).toBe(false);
  });

  it('globs in VMS are anchored and take [ ] classes', () => {
    expect(mayDo(rules, caller('carol'), 'reset', vm('db2'))).toBe(true);
    expect(mayDo(rules, caller('carol'), 'reset', vm('db3'))).toBe(false);
    expect(mayDo(rules, caller('carol'), 'reset', vm('db12'))).toBe(false);
  });

  it('a user name is not a group name and the other way round', () => {
    expect(mayDo(rules, { user: 'webadmins', groups: ['users'], root: false }, 'edit', vm('web-1'))).toBe(false);
    expect(mayDo(rules, caller('zed', 'alice'), 'console', vm('web-1'))).toBe(false);
  });

  it('root acting for itself needs no rule', () => {
    expect(mayDo([], { user: 'root', groups: [], root: true }, 'edit', vm('x'))).toBe(true);
    expect(mayDo(rules, { user: 'root', groups: ['root'], root: false }, 'edit', vm('x'))).toBe(false);
  });

  it.each([
    ['alice console', /three columns/],
    ['alice console web-* extra', /three columns/],
    ['alice reboot web-*', /unknown action "reboot"/],
    ['alice console,status, web-*', /unknown action ""/],
    ['al;ice console web-*', /not a user name or %group/],
    ['%  console web-*', /"%" is not a user name or %group/],
    ['alice console x;y', /not a VM name or pattern/],
    ['alice console hv1/web', /node part .* no place/],
    ['alice console @bad;tag', /not a tag/],
    ['alice console ../etc', /not a VM name or pattern/],
  ])('refuses the whole file for one bad line: %j', (line, why) => {
    const text = `bob status *\n${line}\n`;
    expect(() => parseAccessFile(text)).toThrow(AccessFileError);
    expect(() => parseAccessFile(text)).toThrow(why);
    expect(() => parseAccessFile(text)).toThrow(/line 2/);
  });

  it('lists every bad line at once', () => {
    try {
      parseAccessFile('a b\nalice nope *\n');
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/line 1: expected three columns/);
      expect((e as Error).message).toMatch(/line 2: unknown action "nope"/);
    }
  });
});
