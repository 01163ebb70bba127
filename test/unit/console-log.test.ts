// The continuous console log lives only in console_log_dir/NAME.log: domadd stores it so (a
// <log file> elsewhere is replaced, with a note), whatever path the XML names.
import { describe, expect, it } from 'vitest';
import { CibDoc } from '../../lib/cib/edit.js';
import { Cib, corralVms } from '../../lib/cib/model.js';
import { planAddVm } from '../../lib/cib/vm.js';
import { consoleLogFile } from '../../lib/domain/console-log.js';
import { DomainDoc } from '../../lib/domain/doc.js';

const EMPTY = `<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0"><configuration>
<crm_config/><nodes><node id="1" uname="n1"/></nodes><resources/><constraints/></configuration><status/></cib>`;

function domain(log: string, more = ''): DomainDoc {
  return DomainDoc.parse(
    '<domain type="qemu"><name>gum</name><uuid>00000000-0000-4000-8000-000000000001</uuid><memory unit="MiB">512</memory><vcpu>1</vcpu>' +
      `<devices><serial type="pty">${log}</serial>${more}</devices></domain>`,
  );
}

/** domadd of DOC (with PARAMS) on an empty CIB: the stored config and the plan's notes. */
function domadd(doc: DomainDoc, params?: Record<string, string>): { config: string; notes: string[] } {
  const cd = CibDoc.parse(EMPTY);
  const plan = planAddVm(cd, Cib.parse(EMPTY), { doc, placement: {}, replace: false, ...(params ? { params } : {}) });
  const config = corralVms(Cib.parse(cd.toXml()))[0]?.config ?? '';
  return { config, notes: plan.notes };
}

describe('domadd: the console log', () => {
  it('replaces a <log file> outside console_log_dir/NAME.log, and says so', () => {
    const { config, notes } = domadd(domain('<log file="/etc/shadow" append="on"/>'));
    expect(config).toContain('<log file="/var/log/corral/console/gum.log" append="on"/>');
    expect(config).not.toContain('/etc/shadow');
    expect(notes).toContain('console log: the serial console logs to /var/log/corral/console/gum.log (console_log_dir/NAME.log), not "/etc/shadow"');
  });

  it('follows the console_log_dir given with --param', () => {
    const { config } = domadd(domain('<log file="/var/log/corral/console/gum.log" append="on"/>'), { console_log_dir: '/srv/console/' });
    expect(config).toContain('<log file="/srv/console/gum.log" append="on"/>');
  });

  it('removes a <log> of any other chardev', () => {
    const { config, notes } = domadd(domain('<log file="/var/log/corral/console/gum.log" append="on"/>', '<console type="pty"><log file="/root/x"/></console>'));
    expect(config).not.toContain('/root/x');
    expect(notes).toContain('console log: removed the log file "/root/x" of a <console> (the console log is /var/log/corral/console/gum.log)');
  });

  it('says nothing when the log is where it belongs', () => {
    const { notes } = domadd(domain('<log file="/var/log/corral/console/gum.log" append="on"/>'));
    expect(notes.filter((n) => n.startsWith('console log'))).toEqual([]);
  });

  it('names the file after the domain, its odd characters made harmless', () => {
    expect(consoleLogFile('gum', '/var/log/corral/console/')).toBe('/var/log/corral/console/gum.log');
    expect(consoleLogFile('a/../b', '/l')).toBe('/l/a_.._b.log');
  });
});
