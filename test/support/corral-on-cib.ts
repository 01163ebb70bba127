// The built corral run on a CIB file (CIB_file), as a user would run it against a saved CIB:
// its exit code and output, never a throw.
import { execFile } from 'node:child_process';
import path from 'node:path';

const CORRAL = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../dist/bin/corral');

export function corralOnCib(cib: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(CORRAL, args, { env: { ...process.env, CIB_file: cib }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
