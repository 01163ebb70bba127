// The agent's fast paths: the two common answers that need neither libvirt's API (a program and a
// library) nor an XML parser, only files under /run and /proc (the port's FastHost part). Anything
// short of proof falls through to the full action (agent.ts), which asks libvirt; so a fast path
// never reports "not running" and never fails.
import { quickIdentity, readConfig } from './config.js';
import type { FastHost, Identity } from '../host/agent-port.js';

/** True when the action was answered here (exit 0); false: run the full action. */
export function fastPath(action: string, env: NodeJS.ProcessEnv, host: FastHost): boolean {
  // CORRAL_MONITOR_FULL=1 skips the fast paths (tests and debugging of the libvirt checks).
  if (env.CORRAL_MONITOR_FULL) return false;
  try {
    if (action === 'monitor' || action === 'status') return fastMonitor(env, host);
    if (action === 'stop') return fastStop(env, host);
  } catch {
    // anything unexpected: the full action decides, with an exit reason if it fails
  }
  return false;
}

/** The identity in the configuration, read without an XML library; undefined for anything unusual. */
function identity(env: NodeJS.ProcessEnv): Identity | undefined {
  const uri = env.OCF_RESKEY_hypervisor;
  if (uri && uri !== 'qemu:///system') return undefined;
  // A config file is opened, checked with fstat and read (bounded); one that is not a regular
  // file of at most 1 MiB is never read, and the full action says why.
  const config = readConfig(env.OCF_RESKEY_config);
  return config.ok ? quickIdentity(config.xml) : undefined;
}

/**
 * The steady-state monitor: a running domain is proven by libvirt's pid file and the live qemu
 * process it names (checked against the domain's name and uuid).
 */
function fastMonitor(env: NodeJS.ProcessEnv, host: FastHost): boolean {
  const id = identity(env);
  return id !== undefined && host.libvirtPid(id) !== undefined;
}

/**
 * The common stop: the domain is not on this node at all (it migrated away, or the resource was
 * stopped already). Proven when libvirt keeps no live state of it, no create of it is in flight,
 * and no process on the node names the domain, whatever its program.
 */
function fastStop(env: NodeJS.ProcessEnv, host: FastHost): boolean {
  const id = identity(env);
  if (!id) return false;
  if (host.libvirtKeeps(id.name) || host.createInFlight(id.name) || host.anyProcessNaming(id.name)) return false;
  if (env.OCF_RESOURCE_INSTANCE) host.clearState(env.OCF_RESOURCE_INSTANCE);
  host.removeCreateXml(id.name);
  return true;
}
