// What `vm NAME edit` lets a caller who is not root change in a domain XML: an allow list.
//
// vm runs as root under sudo, and the agent hands the stored XML to libvirt as root on every node:
// whatever an edit puts there is opened, executed or written by root (a disk's source, a chardev's
// log, an emulator, a kernel, a <qemu:commandline> …). So a caller who is not root may change only
// what the guest sees and the host does not open. editRefusals compares the ORIGINAL domain with
// the EDITED one element by element (elements matched by name and position among their
// same-named siblings) and returns one line per element that changed outside this table: added,
// removed, an attribute or its text changed. Root may change anything (as domadd --replace can).
//
// | element (path)                   | a caller who is not root may change                     | why it cannot reach the host                         |
// |----------------------------------|---------------------------------------------------------|------------------------------------------------------|
// | memory, currentMemory            | its value and unit; add/remove currentMemory             | guest RAM (Pacemaker's utilization follows it)       |
// | maxMemory                        | its value, unit and slots; add/remove it                 | the hotplug ceiling of guest RAM                     |
// | vcpu                             | its value, current and placement; add/remove it          | how many vCPUs (cpuset, the host CPUs, is not here)  |
// | cpu, cpu/topology                | add/remove them; topology's sockets, dies, clusters,     | keeps a topology that matches a new vCPU count       |
// |                                  | cores, threads                                          |                                                      |
// | title, description               | their text; add/remove them                              | text for people                                      |
// | metadata                         | add/remove it                                            | libvirt keeps metadata for applications, never reads |
// | metadata/* (not urn:corral:…)    | anything in it                                           | ditto; corral's own metadata is corral's             |
// | devices/interface/model          | its type; add/remove it                                  | the NIC the guest sees (not its source, target,      |
// |                                  |                                                         | script, MAC or backend)                              |
// | clock and everything in it       | anything                                                 | the guest's clock and timers: no path, no device     |
// | features and everything in it    | anything                                                 | flags the guest sees (acpi, apic, hyperv, smm …)     |
// | on_poweroff, on_reboot, on_crash | destroy, restart, preserve or rename-restart              | what libvirt does with the guest; not coredump-*,    |
// |                                  |                                                         | which writes guest memory to a file on the host      |
//
// The cpu element's mode, model, vendor, features and NUMA cells are NOT on the list: they reach no
// host file, but they decide which nodes can run the VM and receive its migration (host-passthrough
// ties it to identical CPUs; a model a node lacks keeps it from starting there), an operator's
// decision. Everything else is refused, among it every disk, every source and path of any device,
// chardev logs and sources (serial, console, channel, parallel), hostdev, filesystem, emulator,
// the os element (loader, kernel, initrd, nvram, cmdline), seclabel, memoryBacking, interface
// source/target/script/MAC, graphics listen/socket, the uuid, the domain's type, and any element
// in a foreign namespace (qemu:commandline, qemu:override …). libvirt's schema (virt-xml-validate)
// still checks the values of what is allowed.
import { children, type El } from './doc.js';

/** corral's own metadata namespaces (urn:corral:transientdomain:1 …) start with this. */
const CORRAL_NS = 'urn:corral:';

const LIFECYCLE = /^(destroy|restart|preserve|rename-restart)$/;

interface Allowed {
  /** Element path from the domain, "/"-separated names in libvirt's (no) namespace; "*" is any element. */
  path: string;
  /** Only elements this accepts (default: all the path names). */
  when?: (el: El) => boolean;
  /** The element may be added or removed (with content that is itself allowed). */
  presence: boolean;
  /** Attributes whose values may change. */
  attrs?: readonly string[];
  /** Its text may change (to what matches, when a pattern). */
  text?: true | RegExp;
  /** Everything inside it may change too. */
  subtree?: boolean;
}

const ALLOWED: readonly Allowed[] = [
  { path: 'memory', presence: false, attrs: ['unit'], text: true },
  { path: 'currentMemory', presence: true, attrs: ['unit'], text: true },
  { path: 'maxMemory', presence: true, attrs: ['unit', 'slots'], text: true },
  { path: 'vcpu', presence: true, attrs: ['current', 'placement'], text: true },
  { path: 'cpu', presence: true },
  { path: 'cpu/topology', presence: true, attrs: ['sockets', 'dies', 'clusters', 'cores', 'threads'] },
  { path: 'title', presence: true, text: true },
  { path: 'description', presence: true, text: true },
  { path: 'metadata', presence: true },
  { path: 'metadata/*', when: (el) => !(el.namespaceURI ?? '').startsWith(CORRAL_NS), presence: true, subtree: true },
  { path: 'devices/interface/model', presence: true, attrs: ['type'] },
  { path: 'clock', presence: true, subtree: true },
  { path: 'features', presence: true, subtree: true },
  { path: 'on_poweroff', presence: true, text: LIFECYCLE },
  { path: 'on_reboot', presence: true, text: LIFECYCLE },
  { path: 'on_crash', presence: true, text: LIFECYCLE },
];

/** An element's name for the rule lookup: its name in libvirt's (empty) namespace, else never a rule's. */
function ruleName(el: El): string {
  return el.namespaceURI ? `{${el.namespaceURI}}${el.localName}` : el.tagName;
}

function ruleFor(names: readonly string[], el: El): Allowed | undefined {
  return ALLOWED.find((r) => {
    const parts = r.path.split('/');
    if (parts.length !== names.length) return false;
    if (!parts.every((p, i) => p === names[i] || (p === '*' && i === names.length - 1))) return false;
    return r.when ? r.when(el) : true;
  });
}

/** The element's own text (its text and CDATA children), trimmed. */
function ownText(el: El): string {
  let t = '';
  for (const n of Array.from(el.childNodes)) if (n.nodeType === 3 || n.nodeType === 4) t += n.nodeValue ?? '';
  return t.trim();
}

/** Attributes, namespace declarations left out (the elements that use them are compared). */
function attrs(el: El): Map<string, string> {
  const m = new Map<string, string>();
  for (const a of Array.from(el.attributes)) if (a.name !== 'xmlns' && !a.name.startsWith('xmlns:')) m.set(a.name, a.value);
  return m;
}

function textAllowed(rule: Allowed | undefined, value: string): boolean {
  if (!rule?.text) return false;
  return rule.text === true || rule.text.test(value);
}

/** Whether EL, with everything in it, may be added or removed at NAMES. */
function mayAddOrRemove(el: El, names: readonly string[]): boolean {
  const rule = ruleFor(names, el);
  if (!rule?.presence) return false;
  if (rule.subtree) return true;
  if ([...attrs(el).keys()].some((a) => !rule.attrs?.includes(a))) return false;
  const t = ownText(el);
  if (t && !textAllowed(rule, t)) return false;
  return children(el).every((c) => mayAddOrRemove(c, [...names, ruleName(c)]));
}

/** Children grouped by namespace and local name, in document order. */
function groups(el: El): Map<string, El[]> {
  const m = new Map<string, El[]>();
  for (const c of children(el)) {
    const k = `${c.namespaceURI ?? ''}|${c.localName}`;
    m.set(k, [...(m.get(k) ?? []), c]);
  }
  return m;
}

function compare(a: El, b: El, shown: string, names: readonly string[], out: string[]): void {
  const rule = names.length ? ruleFor(names, b) : undefined;
  if (rule?.subtree && ruleFor(names, a) === rule) return;
  const aa = attrs(a);
  const ba = attrs(b);
  const what = [...new Set([...aa.keys(), ...ba.keys()])].filter((n) => aa.get(n) !== ba.get(n) && !rule?.attrs?.includes(n));
  const at = ownText(a);
  const bt = ownText(b);
  if (at !== bt && !textAllowed(rule, bt)) what.push(at && bt ? 'its text' : bt ? 'text added' : 'text removed');
  if (what.length) out.push(`${shown || 'domain'}: changed (${what.join(', ')})`);
  const ag = groups(a);
  const bg = groups(b);
  for (const k of new Set([...bg.keys(), ...ag.keys()])) {
    const xs = ag.get(k) ?? [];
    const ys = bg.get(k) ?? [];
    const many = Math.max(xs.length, ys.length) > 1;
    for (let i = 0; i < Math.max(xs.length, ys.length); i++) {
      const x = xs[i];
      const y = ys[i];
      const el = (y ?? x) as El;
      const path = `${shown ? `${shown}/` : ''}${el.tagName}${many ? `[${i + 1}]` : ''}`;
      const childNames = [...names, ruleName(el)];
      if (x && y) compare(x, y, path, childNames, out);
      else if (y && !mayAddOrRemove(y, childNames)) out.push(`${path}: added`);
      else if (x && !mayAddOrRemove(x, childNames)) out.push(`${path}: removed`);
    }
  }
}

/**
 * What EDITED changes in ORIGINAL (both <domain> elements) outside the allow list above, one line
 * per element ("devices/disk[2]: added", "devices/serial/log: changed (file)"); empty when a
 * caller who is not root may make this edit.
 */
export function editRefusals(original: El, edited: El): string[] {
  const out: string[] = [];
  compare(original, edited, '', [], out);
  return out;
}
