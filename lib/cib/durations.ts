// Durations as Pacemaker writes them, read in one place: operation timeouts and intervals
// ("300s", "2min", "120" = seconds, "500ms"), and the ISO 8601 durations of crm_resource
// --lifetime (PT1H, P1D) that vm migrate and corral.conf's move_lifetime take.

const UNIT_MS: Record<string, number> = { ms: 1, msec: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000, hr: 3_600_000 };

/** Milliseconds of a Pacemaker duration such as "300s", "2min", "120" (seconds), or undefined. */
export function pacemakerMs(text: string | undefined): number | undefined {
  const m = /^\s*(\d+)\s*(ms|msec|s|sec|m|min|h|hr)?\s*$/i.exec(text ?? '');
  if (!m) return undefined;
  return Number(m[1]) * (UNIT_MS[(m[2] ?? 's').toLowerCase()] ?? 1000);
}

/** An ISO 8601 duration as crm_resource --lifetime takes it (PT1H, P1D, PT30M), or "none". */
export const LIFETIME_RE = /^(none|P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?)$/;
