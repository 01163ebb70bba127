// TransientDomain's parameters: the single table behind its meta-data and its validation, and
// behind domadd --param (lib/cib/options.ts): the agent and the CIB tools both read it here.
// Names follow ocf:heartbeat:VirtualDomain where the meaning carries over, so an existing
// VirtualDomain resource can switch its type.
import { z } from 'zod';
import type { AgentSpec } from './params.js';

export interface TransientDomainParams {
  config: string;
  hypervisor: string;
  force_stop: boolean;
  shutdown_mode: string | undefined;
  startup_signal: boolean;
  console_log_dir: string;
  migration_transport: string;
  migration_user: string | undefined;
  migration_network_suffix: string | undefined;
  migration_speed: number;
  migration_downtime: number;
  migrateport: number | undefined;
  migrateuri: string | undefined;
  migrate_options: string | undefined;
  storage: 'shared' | 'local';
  keep_source_disks: boolean;
}

const hostPart = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'only letters, digits, ".", "_" and "-"');

export const transientDomainSpec: AgentSpec = {
  name: 'TransientDomain',
  version: '0.1.0',
  shortdesc: 'A libvirt transient domain defined entirely in the CIB',
  longdesc:
    'Runs a libvirt transient domain (virsh create, never define) whose whole domain XML lives in the ' +
    'Pacemaker configuration, so no node keeps a definition that could drift. If the XML declares a ' +
    'virtio channel named startup_signal, start succeeds only when the guest has written "ready TOKEN" ' +
    'on it (answered with "ack TOKEN"), so ordering constraints mean "the service is up". The serial ' +
    'console is also written to a log file that survives restarts and migrations. Stop shuts the guest ' +
    'down gracefully and destroys it when the time left in the operation runs short.',
  params: [
    {
      name: 'config',
      type: 'string',
      required: true,
      unique: true,
      shortdesc: 'Domain XML, or the path of a file holding it',
      longdesc:
        'The libvirt domain XML itself, inline (how domadd stores it). A value that does not start with "<" is ' +
        'taken as the path of a file holding the XML, as with ocf:heartbeat:VirtualDomain: an absolute path to a regular file ' +
        'of at most 1 MiB, in UTF-8. Anything else is a configuration error; stop and probes then still find the domain ' +
        'this resource started. Changing it restarts the domain.',
    },
    {
      name: 'hypervisor',
      type: 'string',
      default: 'qemu:///system',
      shortdesc: 'libvirt connection URI',
      longdesc:
        'The local libvirt connection URI: qemu:///system or qemu:///session. Its path is also used for the migration target. ' +
        'Only a local qemu connection lets the agent check for qemu processes itself when libvirt does not answer.',
      schema: z.enum(['qemu:///system', 'qemu:///session']),
    },
    {
      name: 'force_stop',
      type: 'boolean',
      default: 'false',
      shortdesc: 'Destroy at once on stop',
      longdesc: 'Destroy the domain at once on stop instead of asking the guest to shut down first.',
    },
    {
      name: 'shutdown_mode',
      type: 'string',
      shortdesc: 'How the guest is asked to shut down',
      longdesc: 'Passed to "virsh shutdown --mode": acpi, agent, initctl, signal, paravirt, or a comma-separated list. Empty: libvirt decides.',
      schema: z.string().regex(/^(acpi|agent|initctl|signal|paravirt)(,(acpi|agent|initctl|signal|paravirt))*$/, 'expected acpi, agent, initctl, signal or paravirt (comma-separated)'),
    },
    {
      name: 'startup_signal',
      type: 'boolean',
      default: 'true',
      shortdesc: "Wait for the guest's startup signal",
      longdesc:
        'When the XML declares a virtio channel named startup_signal, start waits (bounded by the operation timeout) until the guest ' +
        'writes "ready TOKEN" and answers "ack TOKEN". Set to false to consider the domain started as soon as qemu runs.',
    },
    {
      name: 'console_log_dir',
      type: 'string',
      default: '/var/log/corral/console',
      shortdesc: 'Directory of the continuous console logs',
      longdesc: 'The serial console is also written to DIR/NAME.log, appended across restarts and migrations.',
      schema: z.string().regex(/^\/[^\0]*$/, 'expected an absolute path'),
    },
    {
      name: 'migration_transport',
      type: 'string',
      default: 'ssh',
      shortdesc: 'Transport to the target libvirt on migration',
      longdesc: 'The libvirt URI transport used to reach the target node: ssh, tcp, tls, libssh or libssh2 (qemu+TRANSPORT://NODE/system).',
      schema: z.enum(['ssh', 'tcp', 'tls', 'libssh', 'libssh2']),
    },
    {
      name: 'migration_user',
      type: 'string',
      shortdesc: 'User on the target node for migration',
      longdesc: 'The user name in the migration URI (user@node), for ssh transports.',
      schema: hostPart,
    },
    {
      name: 'migration_network_suffix',
      type: 'string',
      shortdesc: 'Suffix that selects the migration network',
      longdesc:
        'Appended to the first label of the target node name to reach it over a dedicated network, e.g. node2 becomes node2-mig ' +
        'and node2.example.org becomes node2-mig.example.org.',
      schema: hostPart,
    },
    {
      name: 'migration_speed',
      type: 'integer',
      default: '0',
      shortdesc: 'Migration bandwidth limit in MiB/s',
      longdesc: 'Maximum migration bandwidth in MiB/s; 0 leaves libvirt\'s default.',
      schema: z.number().int().min(0).max(1_000_000),
    },
    {
      name: 'migration_downtime',
      type: 'integer',
      default: '0',
      shortdesc: 'Maximum downtime of a live migration in milliseconds',
      longdesc: 'Set with "virsh migrate-setmaxdowntime" once the migration runs; 0 leaves libvirt\'s default.',
      schema: z.number().int().min(0).max(3_600_000),
    },
    {
      name: 'migrateport',
      type: 'integer',
      shortdesc: 'Port of the migration data stream',
      longdesc: 'When set, the migration data goes to tcp://TARGET:PORT (TARGET with migration_network_suffix applied).',
      schema: z.number().int().min(1).max(65535),
    },
    {
      name: 'migrateuri',
      type: 'string',
      shortdesc: 'Explicit migration data URI',
      longdesc: 'The --migrateuri given to virsh migrate; %n stands for the target node name. Overrides migrateport.',
      schema: z.string().regex(/^[a-z0-9+]+:\/\/[^\s]+$/, 'expected a URI such as tcp://%n-mig:49152'),
    },
    {
      name: 'migrate_options',
      type: 'string',
      shortdesc: 'Extra options for virsh migrate',
      longdesc: 'Whitespace-separated extra options for "virsh migrate", e.g. "--compressed --auto-converge". Each must start with --.',
      schema: z
        .string()
        .refine((s) => s.trim().split(/\s+/).every((o) => /^--[a-z][a-z0-9-]*(=\S+)?$/.test(o)), 'each option must look like --name or --name=value')
        .refine(
          (s) => !s.split(/\s+/).some((o) => /^--(persistent|undefinesource|persistent-xml|xml)(=|$)/.test(o)),
          'a transient domain stays transient and takes its XML from the CIB: --persistent, --undefinesource, --xml and --persistent-xml are refused',
        ),
    },
    {
      name: 'storage',
      type: 'string',
      default: 'shared',
      shortdesc: 'Where the disks live: shared or local',
      longdesc:
        'shared: every node that may run the domain sees its disks (a SAN, cLVM, Ceph, a cluster file system). local: its file ' +
        'disks live on one node only (domadd --local NODE ties the VM to that node with the location constraint vm-NAME-local). A local ' +
        'domain starts only where its disk files exist (elsewhere: not installed), and migrate_to copies them live to the target ' +
        '(virsh migrate --copy-storage-all --migrate-disks), making sure first that the target has an active libvirt storage pool ' +
        'for each disk directory, so that libvirt creates the target files of the same size and format.',
      schema: z.enum(['shared', 'local']),
    },
    {
      name: 'keep_source_disks',
      type: 'boolean',
      default: 'false',
      shortdesc: 'Keep the source copy of local disks after a migration',
      longdesc:
        'With storage=local, migrate_to removes the disk files on the source once the domain runs on the target: a copy left ' +
        'behind goes stale at once, fills the node, and looks like the VM\'s disk to whoever starts it there by hand. Set to true ' +
        'to keep it (e.g. as a fallback while trying out a node); a later migration back overwrites it.',
    },
  ],
  actions: [
    { name: 'start', timeout: '300s' },
    { name: 'stop', timeout: '120s' },
    { name: 'monitor', timeout: '30s', interval: '10s', depth: '0' },
    { name: 'migrate_to', timeout: '120s' },
    { name: 'migrate_from', timeout: '120s' },
    { name: 'reload', timeout: '20s' },
    { name: 'meta-data', timeout: '5s' },
    { name: 'validate-all', timeout: '20s' },
  ],
  ignored: [
    'monitor_scripts',
    'autoset_utilization_cpu',
    'autoset_utilization_host_memory',
    'autoset_utilization_hv_memory',
    'unset_utilization_cpu',
    'unset_utilization_host_memory',
    'unset_utilization_hv_memory',
    'save_config_on_stop',
    'sync_config_on_stop',
    'snapshot',
    'backingfile',
    'stateless',
    'copyindirs',
    'start_resources',
  ],
};
