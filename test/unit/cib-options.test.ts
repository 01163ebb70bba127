import { describe, expect, it } from 'vitest';
import { OptionError, avoidSpec, groupApartSpec, parsePlacement, priority, score } from '../../lib/cib/options.js';
import { nodeName } from '../../lib/domain/names.js';

describe('score', () => {
  it.each([
    ['-150', '-150'],
    ['+20', '20'],
    ['0', '0'],
    ['INFINITY', 'INFINITY'],
    ['+INFINITY', 'INFINITY'],
    ['-INFINITY', '-INFINITY'],
    ['-inf', '-INFINITY'],
    ['never', '-INFINITY'],
    ['1000000', 'INFINITY'],
    ['-1000000', '-INFINITY'],
  ])('reads %j as %j', (input, expected) => {
    expect(score.parse(input)).toBe(expected);
  });

  it.each(['', 'abc', '1.5', '-1000001', '99999999', '--5', '-150; rm -rf', '1e3'])('refuses %j', (input) => {
    expect(score.safeParse(input).success).toBe(false);
  });
});

describe('--avoid OTHER[:SCORE] and --group-apart TAG[:SCORE]', () => {
  it('default to no score (the caller fills it) and take a negative one', () => {
    expect(avoidSpec.parse('ns2')).toEqual({ name: 'ns2', score: '-150' });
    expect(avoidSpec.parse('ns2:never')).toEqual({ name: 'ns2', score: '-INFINITY' });
    expect(groupApartSpec.parse('dns')).toEqual({ name: 'dns', score: undefined });
    expect(groupApartSpec.parse('dns:-500')).toEqual({ name: 'dns', score: '-500' });
  });

  it.each(['ns2:100', 'ns2:0', 'ns2:INFINITY', 'ns2:abc', '--x', 'a/b', 'a;b', '', ':-10'])('--avoid refuses %j', (s) => {
    expect(avoidSpec.safeParse(s).success).toBe(false);
  });

  it.each(['1dns', 'dns tag', 'd/x', '-x'])('--group-apart refuses the tag %j', (s) => {
    expect(groupApartSpec.safeParse(s).success).toBe(false);
  });
});

describe('node names and priorities', () => {
  it('accepts host names and refuses anything else', () => {
    expect(nodeName.parse('node-1.example.org')).toBe('node-1.example.org');
    for (const bad of ['--x', 'a b', 'a/b', '$(x)', '', '.hidden']) expect(nodeName.safeParse(bad).success).toBe(false);
  });

  it('reads a priority as a whole number within Pacemaker\'s range', () => {
    expect(priority.parse('10')).toBe(10);
    expect(priority.parse('-5')).toBe(-5);
    for (const bad of ['x', '1.5', '99999999', '']) expect(priority.safeParse(bad).success).toBe(false);
  });
});

describe('parsePlacement', () => {
  it('leaves out what was not given (so --replace keeps it)', () => {
    expect(parsePlacement({})).toEqual({});
  });

  it('reads repeated and comma-separated lists', () => {
    expect(
      parsePlacement({
        priority: '3',
        avoid: ['a', 'b:-INFINITY'],
        groupApart: ['dns,web:-200'],
        pin: 'n1',
        onlyOn: ['n1,n2', 'n3'],
        after: ['db', 'dns:mandatory,mail:Optional'],
      }),
    ).toEqual({
      priority: 3,
      avoid: [
        { name: 'a', score: '-150' },
        { name: 'b', score: '-INFINITY' },
      ],
      groupApart: [{ tag: 'dns' }, { tag: 'web', score: '-200' }],
      pin: 'n1',
      onlyOn: ['n1', 'n2', 'n3'],
      after: [
        { name: 'db', kind: 'Optional' },
        { name: 'dns', kind: 'Mandatory' },
        { name: 'mail', kind: 'Optional' },
      ],
    });
  });

  it('turns --no-X into "none of that kind"', () => {
    expect(parsePlacement({ priority: false, avoid: false, groupApart: false, pin: false, onlyOn: false, after: false })).toEqual({
      priority: false,
      avoid: [],
      groupApart: [],
      pin: false,
      onlyOn: [],
      after: [],
    });
  });

  it.each([
    [{ avoid: ['--x'] }, /--avoid "--x"/],
    [{ avoid: ['a', 'a:-5'] }, /given twice/],
    [{ avoid: ['a:5'] }, /must be negative/],
    [{ pin: '--x' }, /--pin "--x"/],
    [{ onlyOn: ['n1,,n2'] }, /--only-on ""/],
    [{ after: ['x;reboot'] }, /--after "x;reboot"/],
    [{ after: ['db:always'] }, /--after "db:always": the ordering after ":" is optional \(the default\) or mandatory/],
    [{ after: ['db', 'db:mandatory'] }, /--after db is given twice/],
    [{ priority: 'high' }, /--priority "high"/],
    [{ groupApart: ['dns', 'dns:-5'] }, /twice/],
  ])('refuses %j naming the option', (raw, message) => {
    expect(() => parsePlacement(raw)).toThrow(OptionError);
    expect(() => parsePlacement(raw)).toThrow(message);
  });
});
