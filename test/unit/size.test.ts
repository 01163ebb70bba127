import { describe, expect, it } from 'vitest';
import {
  SizeError,
  formatMiB,
  parseSizeBytes,
  parseSizeMiB,
  sizeMiBSchema,
} from '../../lib/domain/size.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

describe('parseSizeBytes', () => {
  it.each([
    ['0', 'B', 0],
    ['1024', 'B', 1024],
    ['1024', 'MiB', 1024 * MiB],
    ['512k', 'B', 512 * KiB],
    ['512K', 'B', 512 * KiB],
    ['512KiB', 'B', 512 * KiB],
    ['512kb', 'B', 512_000],
    ['512m', 'B', 512 * MiB],
    ['8g', 'B', 8 * GiB],
    ['8G', 'B', 8 * GiB],
    ['8GiB', 'B', 8 * GiB],
    ['8gib', 'B', 8 * GiB],
    ['8 GiB', 'B', 8 * GiB],
    ['  8g ', 'B', 8 * GiB],
    ['8GB', 'B', 8_000_000_000],
    ['1.5g', 'B', 1.5 * GiB],
    ['0.5t', 'B', 512 * GiB],
    ['2TiB', 'B', 2 * TiB],
    ['1p', 'B', 1024 * TiB],
    ['100b', 'MiB', 100],
    ['7bytes', 'GiB', 7],
  ] as const)('reads %s (plain numbers in %s) as %d bytes', (text, unit, bytes) => {
    expect(parseSizeBytes(text, unit)).toBe(bytes);
  });

  it.each(['', ' ', '-1', '-8g', '+8g', '8x', '8gg', '8 g b', '1e400', '1e3', '0x10', '.5g', '8.g', 'g', 'NaN', 'Infinity', '8,5g'])(
    'rejects %j with a SizeError that names the value',
    (text) => {
      expect(() => parseSizeBytes(text, 'MiB')).toThrow(SizeError);
      expect(() => parseSizeBytes(text, 'MiB')).toThrow(`"${text}" is not a size`);
    },
  );

  it('rejects a fraction of a byte instead of rounding it', () => {
    expect(() => parseSizeBytes('0.3k')).toThrow('not a whole number of bytes');
  });

  it('rejects sizes beyond exact number precision', () => {
    expect(() => parseSizeBytes('9999999p')).toThrow('too large');
    expect(() => parseSizeBytes('1'.repeat(400))).toThrow('too large');
  });
});

describe('parseSizeMiB', () => {
  it.each([
    ['1024', 1024],
    ['512m', 512],
    ['8g', 8192],
    ['8GiB', 8192],
    ['1.5g', 1536],
    ['16t', 16 * 1024 * 1024],
    ['1048576k', 1024],
  ] as const)('reads %s as %d MiB (plain numbers are MiB)', (text, mib) => {
    expect(parseSizeMiB(text)).toBe(mib);
  });

  it('takes the default unit from the caller', () => {
    expect(parseSizeMiB('2', 'GiB')).toBe(2048);
  });

  it('rejects a size that is not a whole number of MiB, pointing decimal units out', () => {
    expect(() => parseSizeMiB('1.5')).toThrow('not a whole number of MiB');
    expect(() => parseSizeMiB('8GB')).toThrow(/GB.*decimal.*8g|decimal/);
    expect(() => parseSizeMiB('100k')).toThrow('not a whole number of MiB');
  });
});

describe('sizeMiBSchema', () => {
  const memory = sizeMiBSchema({ minMiB: 1, maxMiB: 16 * 1024 * 1024 });

  it('accepts text and MiB numbers within the limits', () => {
    expect(memory.parse('8g')).toBe(8192);
    expect(memory.parse(8192)).toBe(8192);
    expect(memory.parse('16TiB')).toBe(16 * 1024 * 1024);
  });

  it.each([
    ['0', 'between 1 MiB and 16 TiB'],
    [0, 'between 1 MiB and 16 TiB'],
    ['17t', 'between 1 MiB and 16 TiB'],
    ['1p', 'between 1 MiB and 16 TiB'],
    ['-1', 'is not a size'],
    ['8x', 'is not a size'],
    ['1e400', 'is not a size'],
    [1.5, 'not a whole number of MiB'],
    [-1, 'between 1 MiB and 16 TiB'],
    [Number.POSITIVE_INFINITY, 'not a whole number'],
    [undefined, 'a size is text like 512m or 8g'],
  ] as const)('rejects %j with one clear issue (%s)', (value, message) => {
    const r = memory.safeParse(value);
    expect(r.success).toBe(false);
    expect(r.error?.issues).toHaveLength(1);
    expect(r.error?.issues[0]?.message).toContain(message);
  });
});

describe('formatMiB', () => {
  it.each([
    [512, '512 MiB'],
    [1536, '1536 MiB'],
    [8192, '8 GiB'],
    [16 * 1024 * 1024, '16 TiB'],
  ] as const)('renders %d MiB as %s', (mib, text) => {
    expect(formatMiB(mib)).toBe(text);
  });
});
