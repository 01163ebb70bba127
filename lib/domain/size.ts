// Sizes as people type them: 512m, 8g, 8GiB, 1.5t, 1024. Units follow libvirt (and so `virsh`):
// a bare letter or the IEC name is binary (k = KiB = 1024, m = MiB, g = GiB, t = TiB, p = PiB), the
// SI name with "B" is decimal (KB = 1000, MB, GB, TB, PB); b/byte/bytes is bytes. Case does not
// matter. A number without a unit is in the caller's default unit (corral's tools: MiB).
// Fractions are exact ("1.5g" is 1536 MiB); a result that is not a whole number of the unit asked
// for is an error, never silently rounded. Results are plain numbers, kept below 2^53.
import { CorralError } from '../errors.js';
import { z } from 'zod';

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;
export type SizeUnit = (typeof BINARY_UNITS)[number];

const KiB = 1024;
export const MiB = 1024 * KiB;

export class SizeError extends CorralError {
  readonly kind = 'refused';
  override name = 'SizeError';
}

const UNIT_BYTES: Readonly<Record<SizeUnit, bigint>> = {
  B: 1n,
  KiB: 1024n,
  MiB: 1024n ** 2n,
  GiB: 1024n ** 3n,
  TiB: 1024n ** 4n,
  PiB: 1024n ** 5n,
};

const SIZE_RE = /^(\d+)(?:\.(\d+))?\s*([a-z]*)$/i;

/** Bytes per unit suffix (lower case), libvirt's spelling rules. */
function suffixBytes(suffix: string, defaultUnit: SizeUnit): bigint | undefined {
  const s = suffix.toLowerCase();
  if (s === '') return UNIT_BYTES[defaultUnit];
  if (s === 'b' || s === 'byte' || s === 'bytes') return 1n;
  const power = 'kmgtp'.indexOf(s[0] ?? '') + 1;
  if (power === 0) return undefined;
  const rest = s.slice(1);
  if (rest === '' || rest === 'ib') return 1024n ** BigInt(power);
  if (rest === 'b') return 1000n ** BigInt(power);
  return undefined;
}

function describe(defaultUnit: SizeUnit): string {
  return `expected a number with an optional unit, e.g. 512m, 8g, 8GiB, 1.5t (a plain number is ${defaultUnit})`;
}

/** Parses TEXT as an exact number of bytes (a plain number is in DEFAULTUNIT). Throws SizeError. */
export function parseSizeBytes(text: string, defaultUnit: SizeUnit = 'B'): number {
  const t = text.trim();
  const m = SIZE_RE.exec(t);
  const unit = m ? suffixBytes(m[3] ?? '', defaultUnit) : undefined;
  if (!m || unit === undefined) throw new SizeError(`"${text}" is not a size: ${describe(defaultUnit)}`);
  const whole = m[1] ?? '0';
  const frac = m[2] ?? '';
  const scaled = BigInt(whole + frac) * unit;
  const divisor = 10n ** BigInt(frac.length);
  if (scaled % divisor !== 0n) throw new SizeError(`"${text}" is not a whole number of bytes`);
  const bytes = scaled / divisor;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new SizeError(`"${text}" is too large`);
  return Number(bytes);
}

/**
 * Parses TEXT as a whole number of MiB (a plain number is in DEFAULTUNIT, MiB unless told).
 * Throws SizeError, e.g. for "8GB" (SI: 8·10^9 bytes, not a whole MiB; 8g or 8GiB is meant).
 */
export function parseSizeMiB(text: string, defaultUnit: SizeUnit = 'MiB'): number {
  const bytes = parseSizeBytes(text, defaultUnit);
  if (bytes % MiB !== 0) {
    throw new SizeError(
      `"${text}" is ${bytes} bytes, not a whole number of MiB` +
        (/\d\s*[kmgtp]b$/i.test(text.trim()) ? ' (KB, MB, GB, TB are decimal; use k/m/g/t or KiB/MiB/GiB/TiB)' : ''),
    );
  }
  return bytes / MiB;
}

/** A human rendering of a MiB count for messages: 8192 → "8 GiB", 1536 → "1536 MiB". */
export function formatMiB(mib: number): string {
  for (const [unit, size] of [
    ['TiB', 1024 * 1024],
    ['GiB', 1024],
  ] as const) {
    if (mib >= size && mib % size === 0) return `${mib / size} ${unit}`;
  }
  return `${mib} MiB`;
}

export interface SizeLimits {
  /** Smallest accepted size in MiB (inclusive). */
  minMiB: number;
  /** Largest accepted size in MiB (inclusive). */
  maxMiB: number;
  /** The unit of a plain number; MiB unless told. */
  defaultUnit?: SizeUnit;
}

/**
 * A zod schema for a size given as text ("8g") or as a number of MiB, yielding whole MiB within
 * LIMITS. Every failure is one issue with a message that names the value and the rule.
 */
export function sizeMiBSchema(limits: SizeLimits) {
  const { minMiB, maxMiB, defaultUnit = 'MiB' } = limits;
  return z.custom<string | number>().transform((value: unknown, ctx) => {
    let mib: number;
    try {
      if (typeof value !== 'string' && typeof value !== 'number') {
        throw new SizeError('a size is text like 512m or 8g, or a number of MiB');
      }
      if (typeof value === 'number') {
        if (!Number.isSafeInteger(value)) throw new SizeError(`${value} is not a whole number of MiB`);
        mib = value;
      } else {
        mib = parseSizeMiB(value, defaultUnit);
      }
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
    if (mib < minMiB || mib > maxMiB) {
      ctx.addIssue({
        code: 'custom',
        message: `"${value}" is ${formatMiB(mib)}; it must be between ${formatMiB(minMiB)} and ${formatMiB(maxMiB)}`,
      });
      return z.NEVER;
    }
    return mib;
  });
}
