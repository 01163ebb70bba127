// The VMs in a CIB and their identities (name, uuid, MAC addresses), for the duplicate checks of
// fixup_domxml and domadd.
import { DomainXmlError } from '../domain/doc.js';
import { identityOf, type KnownVm } from '../domain/fixup.js';
import { domainFromConfig } from './config.js';
import { corralVms, type Cib } from './model.js';

export interface KnownVms {
  vms: KnownVm[];
  /** VMs whose stored XML could not be read (their uuid/MACs are not compared). */
  warnings: string[];
}

export function knownVms(cib: Cib): KnownVms {
  const vms: KnownVm[] = [];
  const warnings: string[] = [];
  for (const vm of corralVms(cib)) {
    try {
      if (vm.config === undefined) throw new DomainXmlError('no config parameter');
      const id = identityOf(domainFromConfig(vm.config));
      vms.push({ ...id, name: vm.name, resourceId: vm.resourceId, ...(id.name !== vm.name ? { domainName: id.name } : {}) });
      if (id.name !== vm.name) warnings.push(`${vm.resourceId} holds a domain named ${id.name}`);
    } catch (e) {
      vms.push({ name: vm.name, macs: [], disks: [], resourceId: vm.resourceId });
      warnings.push(`${vm.resourceId}: cannot read its domain XML (${(e as Error).message}); its uuid and MACs are not checked`);
    }
  }
  return { vms, warnings };
}
