// The fence devices this node's fencer has registered (`stonith_admin --list-registered`): what
// corral verify asks to tell "configured" from "the fencer can use it".
import { failure, tool, type Via } from './tool.js';

/** Device ids registered with the local fencer; throws when stonith_admin cannot say. */
export async function registeredFenceDevices(via?: Via): Promise<string[]> {
  const r = await tool({ ...via, timeoutMs: via?.timeoutMs ?? 15_000 }, 'stonith_admin', ['--list-registered']);
  // Exit 0 with the list; Pacemaker 2.1 exits 0 with "No fence devices found" (or 105) for none.
  if (r.exitCode !== 0 && !/no (fence|stonith) devices found/i.test(`${r.stdout}\n${r.stderr}`)) throw failure('asking the fencer for its devices', r);
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/devices? found$/i.test(l))
    .map((l) => l.split(/\s+/)[0] as string);
}
