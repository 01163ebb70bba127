// fence_corral_lab: fence agent for the nodes of a corral lab (installed as /usr/sbin/fence_corral_lab,
// used as stonith:fence_corral_lab). The protocol and the work are in lib/lab/fence-agent.ts.
import { runFenceAgent } from '../lib/lab/fence-agent.js';

async function readStdin(): Promise<string | undefined> {
  if (process.stdin.isTTY) return undefined;
  const chunks: Buffer[] = [];
  // Pacemaker writes the options and closes stdin; a caller that leaves it open gets 5 s.
  const done = new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 5000);
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => {
      clearTimeout(t);
      resolve();
    });
    process.stdin.on('error', () => {
      clearTimeout(t);
      resolve();
    });
  });
  await done;
  process.stdin.destroy();
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const stdin = argv.length > 0 ? undefined : await readStdin();
  const code = await runFenceAgent(argv, stdin, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
  process.exitCode = code;
}

main().catch((e: unknown) => {
  process.stderr.write(`fence_corral_lab: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
