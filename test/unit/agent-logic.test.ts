import { describe, expect, it } from 'vitest';
import { DomainDoc } from '../../lib/domain/doc.js';
import { metadataXml, parseParams } from '../../lib/ocf/params.js';
import { quickIdentity } from '../../lib/vm/config.js';
import { migrationUris, withSuffix } from '../../lib/vm/migrate.js';
import { transientDomainSpec, type TransientDomainParams } from '../../lib/ocf/transient-domain.js';
import { AGENT_XMLNS, ownerOf, prepareForCreate } from '../../lib/vm/prepare.js';
import { domainNameOf, isQemuFor } from '../../lib/host/procs.js';
import { lookupOf } from '../../lib/host/virsh.js';
import type { RunResult } from '../../lib/host/exec.js';

const XML = `<domain type="qemu">
  <metadata><app:info xmlns:app="urn:x"><name>decoy</name></app:info></metadata>
  <!-- <name>commented</name> -->
  <name>gum</name>
  <uuid>0d4e1f52-1c1a-4f6c-9a55-3c1c2b0d9e11</uuid>
  <memory unit="MiB">128</memory>
  <devices><serial type="pty"><target port="0"/></serial></devices>
</domain>`;

function params(env: Record<string, string>): TransientDomainParams {
  const r = parseParams<TransientDomainParams>(transientDomainSpec, { OCF_RESKEY_config: XML, ...env });
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.params;
}

describe('parameters', () => {
  it('applies the defaults of the table', () => {
    const p = params({});
    expect(p.hypervisor).toBe('qemu:///system');
    expect(p.force_stop).toBe(false);
    expect(p.startup_signal).toBe(true);
    expect(p.migration_transport).toBe('ssh');
    expect(p.console_log_dir).toBe('/var/log/corral/console');
  });

  it('reads booleans the way ocf_is_true does', () => {
    expect(params({ OCF_RESKEY_force_stop: 'yes' }).force_stop).toBe(true);
    expect(params({ OCF_RESKEY_force_stop: '1' }).force_stop).toBe(true);
    expect(params({ OCF_RESKEY_force_stop: 'off' }).force_stop).toBe(false);
  });

  it('rejects bad values with the parameter name in the message', () => {
    const r = parseParams(transientDomainSpec, {
      OCF_RESKEY_config: XML,
      OCF_RESKEY_force_stop: 'maybe',
      OCF_RESKEY_migration_transport: 'carrier-pigeon',
      OCF_RESKEY_migration_speed: '-5',
      OCF_RESKEY_migrate_options: '--live; rm -rf /',
      OCF_RESKEY_console_log_dir: 'relative/dir',
    });
    expect(r.ok).toBe(false);
    const text = r.ok ? '' : r.errors.join('\n');
    for (const name of ['force_stop', 'migration_transport', 'migration_speed', 'migrate_options', 'console_log_dir']) {
      expect(text).toContain(`parameter ${name}`);
    }
  });

  it('accepts only a local qemu connection, where the agent can look for qemu processes itself', () => {
    for (const uri of ['qemu+ssh://other/system', 'lxc:///', 'xen:///system']) {
      const r = parseParams(transientDomainSpec, { OCF_RESKEY_config: XML, OCF_RESKEY_hypervisor: uri });
      expect(r.ok, uri).toBe(false);
    }
    expect(params({ OCF_RESKEY_hypervisor: 'qemu:///session' }).hypervisor).toBe('qemu:///session');
  });

  it('refuses migrate_options that would make the domain persistent or replace its XML', () => {
    for (const o of ['--persistent', '--compressed --undefinesource', '--xml=/tmp/x.xml', '--persistent-xml=/x']) {
      const r = parseParams(transientDomainSpec, { OCF_RESKEY_config: XML, OCF_RESKEY_migrate_options: o });
      expect(r.ok, o).toBe(false);
    }
    expect(params({ OCF_RESKEY_migrate_options: '--compressed --auto-converge' }).migrate_options).toBe('--compressed --auto-converge');
  });

  it('requires config', () => {
    const r = parseParams(transientDomainSpec, {});
    expect(r.ok ? [] : r.errors).toContain('parameter config is required');
  });
});

describe('meta-data', () => {
  it('describes every parameter of the table and the migration actions', () => {
    const md = metadataXml(transientDomainSpec);
    for (const p of transientDomainSpec.params) expect(md).toContain(`<parameter name="${p.name}"`);
    expect(md).toContain('<parameter name="config" unique="1" required="1">');
    for (const a of ['start', 'stop', 'monitor', 'migrate_to', 'migrate_from', 'reload', 'meta-data', 'validate-all']) {
      expect(md).toContain(`<action name="${a}"`);
    }
  });
});

describe('identity of a domain', () => {
  it('is the direct name and uuid, not names inside metadata or comments', () => {
    expect(quickIdentity(XML)).toEqual({ name: 'gum', uuid: '0d4e1f52-1c1a-4f6c-9a55-3c1c2b0d9e11' });
    expect(DomainDoc.parse(XML).name).toBe('gum');
  });

  it('matches the qemu command line libvirt writes, and nothing else', () => {
    const id = { name: 'gum', uuid: '0d4e1f52-1c1a-4f6c-9a55-3c1c2b0d9e11' };
    const argv = ['/usr/bin/qemu-system-x86_64', '-name', 'guest=gum,debug-threads=on', '-S', '-uuid', id.uuid];
    expect(isQemuFor(argv, id)).toBe(true);
    expect(isQemuFor(argv, { name: 'gu' })).toBe(false);
    expect(isQemuFor(argv, { name: 'gum', uuid: '11111111-2222-3333-4444-555555555555' })).toBe(false);
    expect(isQemuFor(['/usr/bin/sleep', '-name', 'guest=gum'], id)).toBe(false);
    expect(isQemuFor(['/usr/bin/qemu-system-x86_64', '-name', 'guest=a,,b,debug-threads=on'], { name: 'a,b' })).toBe(true);
    expect(domainNameOf(['qemu', '-name', 'guest=a,,b,debug-threads=on'])).toBe('a,b');
  });
});

describe("reading virsh's answer", () => {
  const failed = (stderr: string, timedOut = false): RunResult => ({ command: 'virsh domstate x', exitCode: 1, stdout: '', stderr, timedOut, failedToStart: false });

  it('takes "Domain not found" as libvirt saying the domain does not exist', () => {
    expect(lookupOf(failed("error: failed to get domain 'x'\nerror: Domain not found: no domain with matching name 'x'"))).toEqual({ kind: 'absent' });
  });

  it('does not take a failed lookup for another reason, or a timeout, as "does not exist"', () => {
    expect(lookupOf(failed("error: failed to get domain 'x'\nerror: Cannot recv data: Connection reset by peer"))?.kind).toBe('unreachable');
    expect(lookupOf(failed("error: failed to get domain 'x'", true))?.kind).toBe('unreachable');
    expect(lookupOf(failed("error: failed to get domain 'x'\nerror: internal error: something else"))?.kind).toBe('error');
    // libvirt 9's virsh says no more than this for a missing domain: domstate() then asks for the list.
    expect(lookupOf(failed("error: failed to get domain 'x'"))?.kind).toBe('error');
  });
});

describe('migration URIs', () => {
  it('puts the network suffix after the first label of the node name', () => {
    expect(withSuffix('node2', '-mig')).toBe('node2-mig');
    expect(withSuffix('node2.example.org', '-mig')).toBe('node2-mig.example.org');
    expect(withSuffix('node2', undefined)).toBe('node2');
  });

  it('builds the target libvirt URI from transport, user, suffix and the local URI path', () => {
    expect(migrationUris(params({ OCF_RESKEY_migration_transport: 'tcp' }), 'n2')).toEqual({ destUri: 'qemu+tcp://n2/system' });
    const p = params({ OCF_RESKEY_migration_user: 'root', OCF_RESKEY_migration_network_suffix: '-mig' });
    expect(migrationUris(p, 'n2')).toEqual({ destUri: 'qemu+ssh://root@n2-mig/system', migrateUri: 'tcp://n2-mig' });
    expect(migrationUris(params({ OCF_RESKEY_migrateport: '49200' }), 'n2').migrateUri).toBe('tcp://n2:49200');
    expect(migrationUris(params({ OCF_RESKEY_migrateuri: 'tcp://%n-fast:49152' }), 'n2').migrateUri).toBe('tcp://n2-fast:49152');
  });
});

describe('the XML handed to virsh create', () => {
  it('adds an appending console log to the serial device and names the owning resource', () => {
    const { xml, consoleLog } = prepareForCreate(DomainDoc.parse(XML), { consoleLogDir: '/var/log/corral/console/', resource: 'vm-gum' });
    expect(consoleLog).toBe('/var/log/corral/console/gum.log');
    const doc = DomainDoc.parse(xml);
    const log = doc.devicesOf('serial')[0]!.getElementsByTagName('log')[0]!;
    expect(log.getAttribute('file')).toBe('/var/log/corral/console/gum.log');
    expect(log.getAttribute('append')).toBe('on');
    expect(xml).toContain(`<corral:resource xmlns:corral="${AGENT_XMLNS}">vm-gum</corral:resource>`);
    expect(xml).toContain('<app:info xmlns:app="urn:x"><name>decoy</name></app:info>');
  });

  it('names the owning resource so a stop can find the domain without its configuration', () => {
    const { xml } = prepareForCreate(DomainDoc.parse(XML), { consoleLogDir: '/l', resource: 'vm-gum' });
    // libvirt writes metadata back with single quotes and its own prefix placement.
    const live = xml.replace(/"/g, "'");
    expect(ownerOf(DomainDoc.parse(live))).toBe('vm-gum');
    expect(ownerOf(DomainDoc.parse(XML))).toBeUndefined();
  });

  it('writes the console log only to console_log_dir/NAME.log, whatever the configuration says', () => {
    const custom = XML.replace('<target port="0"/>', '<target port="0"/><log file="/etc/shadow" append="off"/>').replace(
      '</devices>',
      '<console type="pty"><target type="serial" port="0"/><log file="/root/.ssh/authorized_keys"/></console>' +
        '<channel type="unix"><target type="virtio" name="x"/><log file="/etc/cron.d/x"/></channel></devices>',
    );
    const { xml, consoleLog } = prepareForCreate(DomainDoc.parse(custom), { consoleLogDir: '/var/log/corral/console', resource: 'vm-gum' });
    expect(consoleLog).toBe('/var/log/corral/console/gum.log');
    expect(xml.match(/<log [^>]*>/g)).toEqual(['<log file="/var/log/corral/console/gum.log" append="on"/>']);
    expect(xml).not.toMatch(/shadow|authorized_keys|cron/);
  });

  it('is the same when prepared twice (a restart does not stack additions)', () => {
    const once = prepareForCreate(DomainDoc.parse(XML), { consoleLogDir: '/l', resource: 'vm-gum' }).xml;
    const twice = prepareForCreate(DomainDoc.parse(once), { consoleLogDir: '/l', resource: 'vm-gum' }).xml;
    expect(twice).toBe(once);
  });
});
