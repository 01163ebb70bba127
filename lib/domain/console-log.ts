// The continuous console log: one file per VM, DIR/NAME.log, DIR being the resource's
// console_log_dir. The agent makes it the domain's only chardev log (prepareForCreate), domadd
// stores it so (planAddVm), and `vm NAME console --log` reads only that file. vm, the agent and
// virtlogd run as root: a <log file> anywhere else would be a file root appends the guest's console
// to (and `console --log` prints) wherever the XML's author chose.
import { child, type DomainDoc, type El } from './doc.js';

/** DIR/NAME.log (NAME's odd characters become "_"). */
export function consoleLogFile(name: string, dir: string): string {
  return `${dir.replace(/\/+$/, '')}/${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.log`;
}

/**
 * Makes FILE the domain's one chardev log: the first serial device logs there (appending), and
 * every other <log> under <devices> (on another serial, the console, a channel, a parallel port)
 * goes. A domain without a serial device gets no log. Returns what changed, a line each.
 */
export function pinConsoleLog(doc: DomainDoc, file: string): string[] {
  const changes: string[] = [];
  const serial = doc.devicesOf('serial')[0];
  const devices = child(doc.root, 'devices');
  const logs = devices ? Array.from(devices.getElementsByTagName('log')).filter((l) => !l.namespaceURI) : [];
  let kept: El | undefined;
  for (const log of logs) {
    if (!kept && serial && log.parentNode === serial) {
      kept = log;
      continue;
    }
    const owner = log.parentNode as El;
    changes.push(`removed the log file ${JSON.stringify(log.getAttribute('file') ?? '')} of a <${owner.tagName}> (the console log is ${file})`);
    owner.removeChild(log);
  }
  if (!serial) return changes;
  if (!kept) {
    kept = doc.root.ownerDocument.createElement('log');
    kept.setAttribute('file', file);
    kept.setAttribute('append', 'on');
    serial.appendChild(kept);
    changes.push(`the serial console logs to ${file}`);
    return changes;
  }
  const was = kept.getAttribute('file');
  if (was !== file) {
    kept.setAttribute('file', file);
    changes.push(`the serial console logs to ${file} (console_log_dir/NAME.log), not ${JSON.stringify(was ?? '')}`);
  }
  if (kept.getAttribute('append') !== 'on') {
    kept.setAttribute('append', 'on');
    changes.push(`the serial console log ${file} is appended to`);
  }
  return changes;
}
