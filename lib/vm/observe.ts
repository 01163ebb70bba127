// What runs here, on evidence (safety rule 1): "stopped" only when libvirt answered that the
// domain does not exist, or libvirt is unreachable and no qemu process runs the domain.
import type { Ctx } from './context.js';
import type { DomainLookup, Identity } from '../host/agent-port.js';

export type Observation =
  | { kind: 'running'; state: string; viaLibvirt: boolean }
  | { kind: 'stopped'; why: string }
  | { kind: 'crashed' }
  | { kind: 'unknown'; why: string };

/** libvirt states of a domain that runs nothing (a persistent definition, inactive). */
export const STOPPED_STATES: ReadonlySet<string> = new Set(['shut off']);

export async function observe(ctx: Ctx, id: Identity): Promise<Observation> {
  const l = await ctx.host.domstate(ctx.conn, id.name);
  switch (l.kind) {
    case 'present':
      if (l.state === 'crashed') return { kind: 'crashed' };
      if (STOPPED_STATES.has(l.state)) return { kind: 'stopped', why: `libvirt reports "${l.state}"` };
      return { kind: 'running', state: l.state, viaLibvirt: true };
    case 'absent': {
      const pids = ctx.host.qemuProcesses(id);
      return pids.length
        ? { kind: 'unknown', why: `libvirt does not know domain ${id.name}, yet qemu process ${pids.join(', ')} runs it` }
        : { kind: 'stopped', why: 'libvirt reports no such domain' };
    }
    case 'unreachable': {
      const pids = ctx.host.qemuProcesses(id);
      return pids.length
        ? { kind: 'running', state: `qemu pid ${pids.join(', ')} (libvirt unreachable: ${l.message})`, viaLibvirt: false }
        : { kind: 'stopped', why: `libvirt is unreachable (${l.message}) and no qemu process runs the domain` };
    }
    default:
      return { kind: 'unknown', why: l.message };
  }
}

/** libvirt's answer in words, for logs and exit reasons. */
export function describe(l: DomainLookup): string {
  switch (l.kind) {
    case 'present':
      return `state "${l.state}"`;
    case 'absent':
      return 'not defined';
    default:
      return l.message;
  }
}
