// The agent's host port is lib/host/agent-port.ts. This file only carries the two types
// lib/host/virsh.ts still names here; it goes when virsh.ts imports them from ./agent-port.js.
export type { DomainLookup, MigrateOptions } from '../host/agent-port.js';
