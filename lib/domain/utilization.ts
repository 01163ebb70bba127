// What a domain asks of its node, in the units of Pacemaker utilization as VirtualDomain's
// autoset_utilization_* writes them: `cpu` = vCPUs, `hv_memory` = memory in MiB.
import { CorralError } from '../errors.js';
import { DomainDoc, child, text } from './doc.js';
import { MiB, parseSizeBytes } from './size.js';

class DomainResourceError extends CorralError {
  readonly kind = 'failed';
  override name = 'DomainResourceError';
}

export interface DomainUtilization {
  /** vCPUs the domain starts with (<vcpu current=…>, else the <vcpu> count) */
  cpu: number;
  /** <memory> (the maximum) in MiB, rounded up */
  memoryMiB: number;
}

export function domainUtilization(doc: DomainDoc): DomainUtilization {
  const vcpuEl = child(doc.root, 'vcpu');
  const vcpuText = vcpuEl?.getAttribute('current') ?? text(vcpuEl);
  if (vcpuText === undefined) throw new DomainResourceError('the domain XML has no <vcpu>');
  if (!/^\d+$/.test(vcpuText.trim()) || Number(vcpuText) < 1) {
    throw new DomainResourceError(`<vcpu> "${vcpuText}" is not a positive whole number`);
  }
  const memEl = child(doc.root, 'memory');
  const memText = text(memEl);
  if (memEl === undefined || memText === undefined) throw new DomainResourceError('the domain XML has no <memory>');
  const unit = memEl.getAttribute('unit') ?? 'KiB';
  let bytes: number;
  try {
    // libvirt's units are the ones size.ts reads: k/KiB binary, KB decimal, b/bytes.
    bytes = parseSizeBytes(`${memText}${unit}`);
  } catch {
    throw new DomainResourceError(`<memory unit="${unit}">${memText}</memory> is not a size`);
  }
  if (bytes < MiB) throw new DomainResourceError(`<memory> is ${bytes} bytes, less than 1 MiB`);
  return { cpu: Number(vcpuText), memoryMiB: Math.ceil(bytes / MiB) };
}
