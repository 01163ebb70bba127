// What runs here, on evidence (safety rule 1): "stopped" only when libvirt answered that the
// domain does not exist, or libvirt is unreachable and no qemu process runs the domain.
import { domstate, type Virsh } from '../host/virsh.js';
import { qemuProcesses, type Identity } from './procs.js';

export type Observation =
  | { kind: 'running'; state: string; viaLibvirt: boolean }
  | { kind: 'stopped'; why: string }
  | { kind: 'crashed' }
  | { kind: 'unknown'; why: string };

const STOPPED_STATES = new Set(['shut off']);

export async function observe(c: Virsh, id: Identity): Promise<Observation> {
  const l = await domstate(c, id.name);
  switch (l.kind) {
    case 'present':
      if (l.state === 'crashed') return { kind: 'crashed' };
      if (STOPPED_STATES.has(l.state)) return { kind: 'stopped', why: `libvirt reports "${l.state}"` };
      return { kind: 'running', state: l.state, viaLibvirt: true };
    case 'absent': {
      const pids = qemuProcesses(id);
      return pids.length
        ? { kind: 'unknown', why: `libvirt does not know domain ${id.name}, yet qemu process ${pids.join(', ')} runs it` }
        : { kind: 'stopped', why: 'libvirt reports no such domain' };
    }
    case 'unreachable': {
      const pids = qemuProcesses(id);
      return pids.length
        ? { kind: 'running', state: `qemu pid ${pids.join(', ')} (libvirt unreachable: ${l.message})`, viaLibvirt: false }
        : { kind: 'stopped', why: `libvirt is unreachable (${l.message}) and no qemu process runs the domain` };
    }
    default:
      return { kind: 'unknown', why: l.message };
  }
}
