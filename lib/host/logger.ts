// The one place that runs logger(1), util-linux's syslog/journal client.
import { run } from './exec.js';

export async function syslog(facility: string, priority: string, tag: string, message: string): Promise<void> {
  await run('logger', ['-t', tag, '-p', `${facility}.${priority}`, '--', message], { timeoutMs: 2000 });
}
