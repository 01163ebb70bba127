// Pacemaker's scheduler inputs: every time the scheduler runs on the DC it saves the CIB it was
// given (configuration and status, with the time it ran as the root's execution-date) as
// /var/lib/pacemaker/pengine/pe-input-N.bz2 (pe-warn-N, pe-error-N for runs that warned or failed).
// The series is what `crm report` collects and Hawk's history explorer and `crm history` replay;
// corral events reads it as a series of snapshots of the cluster. Only the node that was DC at the
// time has a file: each node keeps its own series (pe-input-series-max, default 4000 files).
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../exec.js';

export const PE_DIR = '/var/lib/pacemaker/pengine';

export interface PeInputFile {
  file: string;
  /** pe-input, pe-warn or pe-error. */
  series: string;
  /** Its number in the series. */
  n: number;
  /** When it was written (ms since the epoch). */
  mtimeMs: number;
}

const NAME = /^(pe-input|pe-warn|pe-error)-(\d+)(\.bz2)?$/;

/**
 * The scheduler inputs in DIR written at or after SINCE (ms), oldest first, and the newest one
 * written before SINCE (the state the window starts from). A missing directory is an empty list
 * (not a DC since the last start, or not a cluster node).
 */
export async function listPeInputs(sinceMs: number, dir: string = PE_DIR): Promise<PeInputFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const files: PeInputFile[] = [];
  for (const name of names) {
    const m = NAME.exec(name);
    if (!m) continue;
    const file = path.join(dir, name);
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) continue;
    files.push({ file, series: m[1] as string, n: Number(m[2]), mtimeMs: st.mtimeMs });
  }
  files.sort((a, b) => a.mtimeMs - b.mtimeMs || a.n - b.n);
  const first = files.findIndex((f) => f.mtimeMs >= sinceMs);
  if (first === -1) return files.slice(-1);
  return files.slice(Math.max(0, first - 1));
}

/** The CIB text of each scheduler input (bzip2 -dc, 4 at a time); a file that cannot be read is an Error in its place. */
export async function readPeInputs(files: readonly PeInputFile[], timeoutMs = 30_000): Promise<(string | Error)[]> {
  const out: (string | Error)[] = new Array<string | Error>(files.length);
  let next = 0;
  const one = async (f: PeInputFile): Promise<string | Error> => {
    if (!f.file.endsWith('.bz2')) return readFile(f.file, 'utf8').catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    const r = await run('bzip2', ['-dc', '--', f.file], { timeoutMs });
    if (r.exitCode !== 0) return new Error(`${f.file}: bzip2 -dc exited ${r.exitCode}: ${r.stderr.trim().split('\n').pop() ?? ''}`);
    return r.stdout;
  };
  const worker = async (): Promise<void> => {
    for (let i = next++; i < files.length; i = next++) out[i] = await one(files[i] as PeInputFile);
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return out;
}
