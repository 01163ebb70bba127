// Plain-text tables for people (aligned columns, no colours, no box drawing, one line per row so
// grep and awk work on them) and the few number formats they use. A table library would bring
// more than these 60 lines do.

export interface Column<Row> {
  /** Header text (upper case by convention). */
  header: string;
  value: (row: Row) => string;
  /** Right-align (numbers). */
  right?: boolean;
}

/**
 * What a terminal would act on rather than show, or that reorders or hides text: control
 * characters (C0, DEL, C1), Unicode format characters (Cf: the bidi marks,
 * embeddings, overrides and isolates U+200E/F, U+202A-202E, U+2066-2069, U+061C, zero-width
 * characters …), line and paragraph separators and lone surrogates.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/**
 * TEXT for one line of a table or a message: every character above escaped as \uXXXX (\u{XXXXX}
 * past U+FFFF), so that a node named "n\u202eevil" shows as that and not reversed, and a name
 * cannot move the cursor, clear the screen or start a new line. JSON output is not passed
 * through this: JSON escapes what it needs, and its values stay exact.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const cp = c.codePointAt(0) ?? 0;
    return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
  });
}

/** printable() on each line of TEXT, keeping its line ends (a message of several lines). */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}

/** Renders ROWS as aligned text: header line, then one line per row; trailing spaces trimmed. */
export function renderTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const cells = rows.map((r) => columns.map((c) => printable(c.value(r))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => {
        const w = widths[i] ?? 0;
        return columns[i]?.right ? v.padStart(w) : v.padEnd(w);
      })
      .join('  ')
      .replace(/\s+$/, '');
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

/** MiB as people read memory: 512M, 8.0G, 1.5T (binary units, one decimal from G on). */
export function formatMemory(mib: number | null): string {
  if (mib === null || !Number.isFinite(mib)) return '-';
  const sign = mib < 0 ? '-' : '';
  const a = Math.abs(mib);
  if (a < 1024) return `${sign}${Math.round(a)}M`;
  if (a < 1024 * 1024) return `${sign}${(a / 1024).toFixed(1)}G`;
  return `${sign}${(a / 1024 / 1024).toFixed(1)}T`;
}

/** Bytes per second: 0, 812B/s, 12.3K/s, 4.0M/s, 1.2G/s. */
export function formatRate(bytesPerSecond: number | null): string {
  if (bytesPerSecond === null || !Number.isFinite(bytesPerSecond)) return '-';
  const b = Math.max(0, bytesPerSecond);
  if (b < 1) return '0';
  const units = ['B', 'K', 'M', 'G', 'T'];
  let v = b;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? Math.round(v) : v.toFixed(1)}${units[u]}/s`;
}

export function formatPercent(p: number | null): string {
  if (p === null || !Number.isFinite(p)) return '-';
  return `${p.toFixed(p >= 100 ? 0 : 1)}%`;
}

export function formatCount(n: number | null): string {
  return n === null || !Number.isFinite(n) ? '-' : String(n);
}

/** "a, b and c" */
function listWords(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
