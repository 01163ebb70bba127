// Domain XML from a checked DomainSpec (lib/domain/spec.ts): what `create_domxml` prints. Pure:
// options in, XML out.
//
// What the XML holds (the original system's shape): KVM unless told, memory in MiB, vcpus,
// virtio disks vda, vdb, … (block/file: cache none, io native; RBD: cache writeback, Ceph's
// advice), virtio NICs on Open vSwitch bridges with a VLAN tag (or Linux bridges), a serial
// console, the startup_signal channel (no <source>: libvirt, then fixup_domxml, picks the path),
// VNC on 127.0.0.1 for `vm NAME vnc`. No uuid and no MAC unless given: fixup_domxml fixes them.
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { DomainSpecSchema, STARTUP_SIGNAL_CHANNEL, diskTarget, type Disk, type DomainSpec, type DomainSpecInput, type Nic } from './spec.js';

function renderDisk(devices: XMLBuilder, disk: Disk, index: number, ceph: DomainSpec['ceph']): void {
  const target = { dev: diskTarget(index), bus: 'virtio' };
  if (disk.type === 'rbd') {
    const el = devices.ele('disk', { type: 'network', device: 'disk' });
    el.ele('driver', { name: 'qemu', type: 'raw', cache: 'writeback' });
    if (ceph?.auth) {
      el.ele('auth', { username: ceph.auth.username }).ele('secret', { type: 'ceph', uuid: ceph.auth.secretUuid });
    }
    const source = el.ele('source', { protocol: 'rbd', name: `${disk.pool}/${disk.image}` });
    for (const mon of ceph?.monitors ?? []) {
      source.ele('host', mon.port === undefined ? { name: mon.host } : { name: mon.host, port: String(mon.port) });
    }
    el.ele('target', target);
    return;
  }
  const el = devices.ele('disk', { type: disk.type, device: 'disk' });
  el.ele('driver', { name: 'qemu', type: disk.format, cache: 'none', io: 'native' });
  el.ele('source', disk.type === 'block' ? { dev: disk.path } : { file: disk.path });
  el.ele('target', target);
}

function renderNic(devices: XMLBuilder, nic: Nic): void {
  const el = devices.ele('interface', { type: 'bridge' });
  if (nic.mac) el.ele('mac', { address: nic.mac });
  el.ele('source', { bridge: nic.bridge });
  if (nic.type === 'ovs') {
    if (nic.vlans !== 'all') {
      const vlan = el.ele('vlan', nic.vlans.length > 1 ? { trunk: 'yes' } : {});
      for (const id of nic.vlans) vlan.ele('tag', { id: String(id) });
    }
    el.ele('virtualport', { type: 'openvswitch' });
  }
  el.ele('model', { type: 'virtio' });
}

/**
 * The guest CPU when --cpu-model is not given. KVM: host-model. libvirt expands it, when the domain
 * starts, into the named model closest to that node's CPU plus features (near-native speed), and a
 * live migration carries that expansion to the target, whose libvirt refuses to start the guest
 * there unless it can provide the same CPU: the migration fails and the guest keeps running where
 * it was. host-passthrough gives the guest the host's exact CPU, and libvirt cannot check a
 * target's CPU against it: between different CPUs the migration can go through and the guest
 * crash later (on an instruction the target lacks). A fixed named model would hold on every node
 * but is either old and slow (qemu64 lacks what current distributions require) or unavailable on
 * some CPUs. `corral hosts` checks, on every node's libvirt, that each VM's model is available on
 * every node it may run on; a cluster of mixed CPUs sets one named model that every node provides
 * (virsh hypervisor-cpu-baseline) with --cpu-model.
 * TCG (qemu): no <cpu>: QEMU's default model, which TCG emulates the same on every node.
 */
function defaultCpuModel(virtType: DomainSpec['virtType']): string {
  return virtType === 'kvm' ? 'host-model' : 'default';
}

function renderCpu(dom: XMLBuilder, spec: DomainSpec): void {
  const model = spec.cpuModel ?? defaultCpuModel(spec.virtType);
  switch (model) {
    case 'default':
      return;
    case 'host-passthrough':
    case 'host-model':
    case 'maximum':
      dom.ele('cpu', { mode: model });
      return;
    default:
      dom.ele('cpu', { mode: 'custom', match: 'exact' }).ele('model', { fallback: 'forbid' }).txt(model);
  }
}

/** Validates INPUT (throws z.ZodError) and returns the domain XML, pretty-printed, ending in "\n". */
export function buildDomainXml(input: DomainSpecInput): string {
  const spec = DomainSpecSchema.parse(input);
  const dom = create().ele('domain', { type: spec.virtType });
  dom.ele('name').txt(spec.name);
  if (spec.uuid) dom.ele('uuid').txt(spec.uuid.toLowerCase());
  dom.ele('memory', { unit: 'MiB' }).txt(String(spec.memoryMiB));
  dom.ele('vcpu', { placement: spec.numa?.placement === 'auto' ? 'auto' : 'static' }).txt(String(spec.vcpus));
  if (spec.numa) {
    dom
      .ele('numatune')
      .ele(
        'memory',
        spec.numa.placement === 'auto'
          ? { mode: 'strict', placement: 'auto' }
          : { mode: 'strict', nodeset: spec.numa.nodeset },
      );
  }

  const os = dom.ele('os', spec.firmware === 'efi' ? { firmware: 'efi' } : {});
  os.ele('type', spec.machine ? { machine: spec.machine } : {}).txt('hvm');
  if (spec.firmware === 'efi') {
    // libvirt picks the firmware from the host's descriptors. Without this feature it may pick a
    // Secure Boot build with enrolled keys (on q35 Debian's comes first), which needs SMM and
    // refuses unsigned loaders; "no" selects plain OVMF (Debian: 60-edk2-x86_64.json) on pc and q35.
    // libvirt 9.0 then makes the NVRAM /var/lib/libvirt/qemu/nvram/NAME_VARS.fd from its template on
    // the node where the domain starts and on a migration's target (which gets the migrated
    // content), so a transient domain needs no <nvram> path: none is written (see README).
    os.ele('firmware').ele('feature', { enabled: 'no', name: 'secure-boot' });
  }
  if (spec.boot) {
    os.ele('kernel').txt(spec.boot.kernel);
    if (spec.boot.initrd) os.ele('initrd').txt(spec.boot.initrd);
    if (spec.boot.cmdline !== undefined) os.ele('cmdline').txt(spec.boot.cmdline);
  } else {
    os.ele('boot', { dev: 'hd' });
  }
  const features = dom.ele('features');
  features.ele('acpi');
  features.ele('apic');
  renderCpu(dom, spec);
  dom.ele('clock', { offset: 'utc' });
  dom.ele('on_poweroff').txt('destroy');
  dom.ele('on_reboot').txt('restart');
  dom.ele('on_crash').txt('destroy');

  const devices = dom.ele('devices');
  spec.disks.forEach((d, i) => renderDisk(devices, d, i, spec.ceph));
  for (const nic of spec.nics) renderNic(devices, nic);
  devices.ele('serial', { type: 'pty' }).ele('target', { port: '0' });
  devices.ele('console', { type: 'pty' }).ele('target', { type: 'serial', port: '0' });
  if (spec.startupSignal) {
    devices.ele('channel', { type: 'unix' }).ele('target', { type: 'virtio', name: STARTUP_SIGNAL_CHANNEL });
  }
  if (spec.vnc) {
    devices
      .ele('graphics', { type: 'vnc', autoport: 'yes', listen: '127.0.0.1' })
      .ele('listen', { type: 'address', address: '127.0.0.1' });
  }
  return `${dom.end({ headless: true, prettyPrint: true, indent: '  ' })}\n`;
}
