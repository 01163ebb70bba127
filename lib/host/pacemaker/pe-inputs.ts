// Pacemaker's scheduler inputs: every time the scheduler runs on the DC it saves the CIB it was
// given (configuration and status, with the time it ran as the root's execution-date) as
// /var/lib/pacemaker/pengine/pe-input-N.bz2 (pe-warn-N, pe-error-N for runs that warned or failed).
// The series is what `crm report` collects and Hawk's history explorer and `crm history` replay;
// corral events reads it as a series of snapshots of the cluster. Only the node that was DC at the
// time has a file: each node keeps its own series (pe-input-series-max, default 4000 files), so
// the other nodes' are read through the node command (ls and bzip2: plain words).
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { run, type RunResult } from '../exec.js';

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

/** The scheduler inputs among FILES (any order) written at or after SINCE (ms), oldest first, and the newest one written before (the state the window starts from). */
export function peWindow(files: readonly PeInputFile[], sinceMs: number): PeInputFile[] {
  const sorted = [...files].sort((a, b) => a.mtimeMs - b.mtimeMs || a.n - b.n);
  const first = sorted.findIndex((f) => f.mtimeMs >= sinceMs);
  if (first === -1) return sorted.slice(-1);
  return sorted.slice(Math.max(0, first - 1));
}

/**
 * The scheduler inputs in DIR on this node. A missing directory is an empty list (not a DC since
 * the last start, or not a cluster node).
 */
export async function listPeInputs(dir: string = PE_DIR): Promise<PeInputFile[]> {
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
  return files;
}

/** Runs a fixed command on another node (the node command): ARGV are plain words. */
export type NodeRunner = (argv: readonly string[]) => Promise<RunResult>;

/** `ls --full-time DIR` read into the scheduler inputs it lists ("-rw-r----- 1 hacluster haclient 3119 2026-12-07 18:20:16.287193227 +0000 pe-input-10.bz2"). */
export function parseLsFullTime(text: string, dir: string = PE_DIR): PeInputFile[] {
  const out: PeInputFile[] = [];
  for (const line of text.split('\n')) {
    const m = /^-\S*\s+\d+\s+\S+\s+\S+\s+\d+\s+(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)? ([+-]\d\d)(\d\d) (\S+)$/.exec(line.trim());
    if (!m) continue;
    const name = NAME.exec(m[6] as string);
    if (!name) continue;
    const ms = Date.parse(`${m[1]}T${m[2]}${(m[3] ?? '').slice(0, 4)}${m[4]}:${m[5]}`);
    if (!Number.isFinite(ms)) continue;
    out.push({ file: path.posix.join(dir, m[6] as string), series: name[1] as string, n: Number(name[2]), mtimeMs: ms });
  }
  return out;
}

/** The scheduler inputs in DIR on another node, through RUN (`ls --full-time DIR`); none when there is no such directory. */
export async function listPeInputsVia(runOn: NodeRunner, dir: string = PE_DIR): Promise<PeInputFile[]> {
  const r = await runOn(['ls', '--full-time', dir]);
  if (r.exitCode !== 0) {
    if (/No such file or directory/.test(r.stderr)) return [];
    throw new Error(`ls --full-time ${dir} exited ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}: ${r.stderr.trim().split('\n').pop() ?? ''}`);
  }
  return parseLsFullTime(r.stdout, dir);
}

/**
 * The CIB text of each scheduler input on another node, through RUN (`bzip2 -dc FILE…`, 50 files a
 * call: the CIBs come one after the other, each starting with <cib). Every file of a call that
 * failed is an Error in its place.
 */
export async function readPeInputsVia(runOn: NodeRunner, files: readonly PeInputFile[]): Promise<(string | Error)[]> {
  const out: (string | Error)[] = [];
  for (let i = 0; i < files.length; i += 50) {
    const batch = files.slice(i, i + 50);
    const r = await runOn(['bzip2', '-dc', '--', ...batch.map((f) => f.file)]);
    const docs = r.exitCode === 0 ? r.stdout.split(/(?=<cib[\s>])/).filter((d) => d.trim() !== '') : [];
    if (r.exitCode !== 0 || docs.length !== batch.length) {
      const why = r.exitCode !== 0 ? `bzip2 -dc exited ${r.exitCode}: ${r.stderr.trim().split('\n').pop() ?? ''}` : `bzip2 -dc gave ${docs.length} CIBs for ${batch.length} files`;
      out.push(...batch.map((f) => new Error(`${f.file}: ${why}`)));
    } else out.push(...docs);
  }
  return out;
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
