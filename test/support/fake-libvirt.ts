// A stand-in for libvirt, for running the built agent without one: a `virsh` first on PATH that
// answers from a directory of domains (NAME.xml, with NAME.state holding the state, "running" by
// default). It lists, dumps, looks up, shuts down and destroys them; while the file "unreachable"
// exists every call fails the way virsh does when libvirtd is down. The agent's state directory
// (CORRAL_STATE_DIR) is a private one next to it.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const VIRSH = `#!/bin/bash
d="$FAKE_LIBVIRT_DIR"
while [ $# -gt 0 ]; do case "$1" in -q) shift ;; -c) shift 2 ;; *) break ;; esac; done
echo "$*" >> "$d/calls"
if [ "$1" = --version ]; then echo 9.0.0; exit 0; fi
if [ -e "$d/unreachable" ]; then
  echo "error: failed to connect to the hypervisor" >&2
  echo "error: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory" >&2
  exit 1
fi
cmd="$1"; name="$2"; dom="$d/domains/$name"
missing() { echo "error: failed to get domain '$name'" >&2; exit 1; }
case "$cmd" in
  list) for f in "$d"/domains/*.xml; do [ -e "$f" ] && basename "$f" .xml; done; exit 0 ;;
  domstate) [ -e "$dom.xml" ] || missing; cat "$dom.state" 2>/dev/null || echo running ;;
  dumpxml) [ -e "$dom.xml" ] || missing; cat "$dom.xml" ;;
  shutdown) [ -e "$dom.xml" ] || missing; [ -e "$dom.deaf" ] || rm -f "$dom.xml" "$dom.state"; echo "Domain '$name' is being shutdown" ;;
  destroy) [ -e "$dom.xml" ] || missing; rm -f "$dom.xml" "$dom.state"; echo "Domain '$name' destroyed" ;;
  *) echo "error: fake virsh does not know '$cmd'" >&2; exit 1 ;;
esac
`;

export interface FakeLibvirt {
  dir: string;
  /** Environment for the agent: PATH with the fake virsh first, and the private state directory. */
  env: Record<string, string>;
  stateDir: string;
  /** A domain libvirt has; OWNER (a resource name) goes into its metadata as start puts it. */
  addDomain(name: string, o?: { owner?: string; state?: string; ignoresShutdown?: boolean }): void;
  has(name: string): boolean;
  /** The virsh calls so far (without -q -c URI). */
  calls(): string[];
  setUnreachable(down: boolean): void;
  /** What start records for RESOURCE: its domain's identity. */
  record(resource: string, name: string): void;
  remove(): void;
}

export function fakeLibvirt(): FakeLibvirt {
  const dir = mkdtempSync(path.join(tmpdir(), 'corral-fake-libvirt-'));
  const bin = path.join(dir, 'bin');
  const stateDir = path.join(dir, 'state');
  mkdirSync(bin);
  mkdirSync(path.join(dir, 'domains'));
  writeFileSync(path.join(bin, 'virsh'), VIRSH);
  chmodSync(path.join(bin, 'virsh'), 0o755);
  const dom = (name: string) => path.join(dir, 'domains', name);
  return {
    dir,
    stateDir,
    env: { PATH: `${bin}:${process.env.PATH}`, FAKE_LIBVIRT_DIR: dir, CORRAL_STATE_DIR: stateDir },
    addDomain(name, o = {}) {
      const meta = o.owner ? `<metadata><corral:resource xmlns:corral='urn:corral:transientdomain:1'>${o.owner}</corral:resource></metadata>` : '';
      writeFileSync(`${dom(name)}.xml`, `<domain type='qemu' id='1'>\n  <name>${name}</name>\n  ${meta}\n</domain>\n`);
      if (o.state) writeFileSync(`${dom(name)}.state`, `${o.state}\n`);
      if (o.ignoresShutdown) writeFileSync(`${dom(name)}.deaf`, '');
    },
    has: (name) => existsSync(`${dom(name)}.xml`),
    calls: () => (existsSync(path.join(dir, 'calls')) ? readFileSync(path.join(dir, 'calls'), 'utf8').split('\n').filter(Boolean) : []),
    setUnreachable(down) {
      if (down) writeFileSync(path.join(dir, 'unreachable'), '');
      else rmSync(path.join(dir, 'unreachable'), { force: true });
    },
    record(resource, name) {
      mkdirSync(stateDir, { recursive: true });
      writeFileSync(path.join(stateDir, `${resource}.json`), JSON.stringify({ resource, name, phase: 'running', since: new Date().toISOString() }));
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
