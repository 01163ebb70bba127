// The actions of `vm NAME ACTION`: one table for the command line, its help, the access file's
// vocabulary and the rules of asking. An action either talks to libvirt on the VM's node (through
// the remote URI) or asks Pacemaker (never behind its back), or only reads.
import { z } from 'zod';

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
export const actionName = z.enum(ACTION_NAMES);

export interface ActionSpec {
  name: ActionName;
  /** Arguments after the action, for the help. */
  args: string;
  summary: string;
  /** Only reads: never asks before acting on several VMs. */
  readOnly: boolean;
  /** Works on one VM at a time only (interactive). */
  single: boolean;
  /** Needs the VM to be running (acts on its node's libvirt). */
  needsRunning: boolean;
}

const spec = (name: ActionName, args: string, summary: string, o: Partial<Omit<ActionSpec, 'name' | 'args' | 'summary'>> = {}): ActionSpec => ({
  name,
  args,
  summary,
  readOnly: o.readOnly ?? false,
  single: o.single ?? false,
  needsRunning: o.needsRunning ?? false,
});

export const ACTIONS: Record<ActionName, ActionSpec> = {
  console: spec('console', '[--log [--lines N]] [--force]', 'attach to the serial console (leave with Ctrl+]); --log prints the continuous console log instead', { single: true }),
  reset: spec('reset', '', 'hard reset, like the reset button', { needsRunning: true }),
  ctrlaltdel: spec('ctrlaltdel', '', 'press Ctrl+Alt+Del', { needsRunning: true }),
  sysrq: spec('sysrq', 'KEY', 'press Alt+SysRq+KEY (e.g. s: sync, c: crash, b: reboot, h: help)', { needsRunning: true }),
  vnc: spec('vnc', '', 'where its VNC display is, and the ssh tunnel that reaches it', { readOnly: true, needsRunning: true }),
  status: spec('status', '[--json]', "Pacemaker's view and libvirt's", { readOnly: true }),
  where: spec('where', '', 'the node it runs on', { readOnly: true }),
  start: spec('start', '[--no-wait]', 'start it (target-role Started) and wait until it runs'),
  stop: spec('stop', '[--no-wait]', 'stop it (target-role Stopped) and wait until it is down'),
  restart: spec('restart', '[--no-wait]', 'stop it and start it again, through Pacemaker', { needsRunning: true }),
  migrate: spec('migrate', '[NODE] [--lifetime DURATION] [--no-wait]', 'move it (live, if it allows) to NODE, or away from where it runs; replaces its earlier moves', { needsRunning: true }),
  clear: spec('clear', '', 'drop the constraints earlier migrates left (crm_resource --clear)'),
  edit: spec('edit', '', 'edit its domain XML in $EDITOR; written back only if valid and unchanged meanwhile', { single: true }),
  priority: spec('priority', 'N', 'set its Pacemaker priority (higher wins when not all fit)'),
  log: spec('log', '[--lines N]', "its history: Pacemaker's operations and vm's own log", { readOnly: true, single: true }),
};

/** Linux key names (virsh send-key --codeset linux) for sysrq KEY. */
export const SYSRQ_KEYS: Record<string, string> = Object.fromEntries([
  ...'abcdefghijklmnopqrstuvwxyz'.split('').map((c) => [c, `KEY_${c.toUpperCase()}`]),
  ...'0123456789'.split('').map((c) => [c, `KEY_${c}`]),
]);

export const sysrqKey = z
  .string()
  .transform((s) => s.toLowerCase())
  .refine((s) => s in SYSRQ_KEYS, 'a SysRq key is one letter or digit (e.g. s, c, b, h)');

/** `vm NAME priority N`: the same rule as domadd --priority (Pacemaker's score range). */
export { priority as priorityValue } from '../cib/options.js';
