// The actions of `vm NAME ACTION`: one table for the command line, its help, the access file's
// vocabulary, the argument each takes and the rules of asking. An action either talks to libvirt
// on the VM's node (through the remote URI) or asks Pacemaker (never behind its back), or only
// reads. What each one does is lib/ops/perform.ts's table, keyed by the same names.
import { z } from 'zod';
import { priority } from '../cib/options.js';
import { NODE_NAME_RE } from '../domain/names.js';

export const ACTION_NAMES = [
  'console',
  'reset',
  'ctrlaltdel',
  'sysrq',
  'vnc',
  'status',
  'where',
  'start',
  'stop',
  'restart',
  'migrate',
  'clear',
  'edit',
  'priority',
  'log',
] as const;

export type ActionName = (typeof ACTION_NAMES)[number];

export interface ActionSpec {
  name: ActionName;
  /** Arguments after the action, for the help. */
  args: string;
  summary: string;
  /** Only reads: never asks before acting on several VMs. */
  readOnly: boolean;
  /** Works on one VM at a time only (interactive). */
  single: boolean;
  /**
   * Asks Pacemaker to act on a running VM: the VMs it does not see running are reported as
   * failures, the others acted on. (Actions on the guest find its node themselves.)
   */
  needsRunning: boolean;
  /** The one argument after the action, when it takes one. */
  arg?: ActionArg;
}

interface ActionArg {
  /** It may be left out (migrate: away from where it runs). */
  optional: boolean;
  /** The checked value, or the line that refuses it. */
  check(raw: string): { value: string | number } | { error: string };
}

const spec = (name: ActionName, args: string, summary: string, o: Partial<Omit<ActionSpec, 'name' | 'args' | 'summary'>> = {}): ActionSpec => ({
  name,
  args,
  summary,
  readOnly: o.readOnly ?? false,
  single: o.single ?? false,
  needsRunning: o.needsRunning ?? false,
  ...(o.arg ? { arg: o.arg } : {}),
});

/** An argument checked by SCHEMA; refused as `ACTION "RAW": why`. */
function schemaArg(action: string, schema: z.ZodType<string | number>): ActionArg {
  return {
    optional: false,
    check(raw) {
      const r = schema.safeParse(raw);
      return r.success ? { value: r.data } : { error: `${action} ${JSON.stringify(raw)}: ${r.error.issues[0]?.message}` };
    },
  };
}

const nodeArg: ActionArg = {
  optional: true,
  check: (raw) => (NODE_NAME_RE.test(raw) ? { value: raw } : { error: `${JSON.stringify(raw)} is not a node name` }),
};

/** Linux key names (virsh send-key --codeset linux) for sysrq KEY. */
export const SYSRQ_KEYS: Record<string, string> = Object.fromEntries([
  ...'abcdefghijklmnopqrstuvwxyz'.split('').map((c) => [c, `KEY_${c.toUpperCase()}`]),
  ...'0123456789'.split('').map((c) => [c, `KEY_${c}`]),
]);

const sysrqKey = z
  .string()
  .transform((s) => s.toLowerCase())
  .refine((s) => s in SYSRQ_KEYS, 'a SysRq key is one letter or digit (e.g. s, c, b, h)');

export const ACTIONS: Record<ActionName, ActionSpec> = {
  console: spec('console', '[--log [--lines N]] [--force]', 'attach to the serial console (leave with Ctrl+]); --log prints the continuous console log instead', { single: true }),
  reset: spec('reset', '', 'hard reset, like the reset button'),
  ctrlaltdel: spec('ctrlaltdel', '', 'press Ctrl+Alt+Del'),
  sysrq: spec('sysrq', 'KEY', 'press Alt+SysRq+KEY (e.g. s: sync, c: crash, b: reboot, h: help)', { arg: schemaArg('sysrq', sysrqKey) }),
  vnc: spec('vnc', '', 'where its VNC display is, and the ssh tunnel that reaches it', { readOnly: true }),
  status: spec('status', '[--json]', "Pacemaker's view and libvirt's", { readOnly: true }),
  where: spec('where', '', 'the node it runs on', { readOnly: true }),
  start: spec('start', '[--no-wait]', 'start it (target-role Started) and wait until it runs'),
  stop: spec('stop', '[--no-wait]', 'stop it (target-role Stopped) and wait until it is down'),
  restart: spec('restart', '[--no-wait]', 'stop it and start it again, through Pacemaker', { needsRunning: true }),
  migrate: spec('migrate', '[NODE] [--lifetime DURATION] [--no-wait]', 'move it (live, if it allows) to NODE, or away from where it runs; replaces its earlier moves', { needsRunning: true, arg: nodeArg }),
  clear: spec('clear', '', 'drop the constraints earlier migrates left (crm_resource --clear)'),
  edit: spec('edit', '', 'edit its domain XML in $EDITOR; written back only if valid and unchanged meanwhile', { single: true }),
  priority: spec('priority', 'N', 'set its Pacemaker priority (higher wins when not all fit)', { arg: schemaArg('priority', priority) }),
  log: spec('log', '[--lines N]', "its history: Pacemaker's operations and vm's own log", { readOnly: true, single: true }),
};
