// Everything an action needs: validated parameters, the domain's identity, the libvirt
// connection and the deadline derived from the operation's timeout (safety rule 4).
import { OcfError, OCF, fail } from '../ocf/exit.js';
import { parseParams } from '../ocf/params.js';
import { DomainDoc, DomainXmlError } from '../domain/doc.js';
import type { Virsh } from '../host/virsh.js';
import { configText } from './config.js';
import { transientDomainSpec, type TransientDomainParams } from './params.js';
import type { Identity } from './procs.js';
import { readState } from './state.js';

export interface Ctx {
  action: string;
  env: NodeJS.ProcessEnv;
  resource: string;
  /** Undefined when the parameters did not validate; paramErrors says why. */
  params?: TransientDomainParams;
  paramErrors: string[];
  /** The parsed configuration, or why it could not be read. */
  doc?: DomainDoc;
  configError?: string;
  /** The libvirt connection; each call is bounded by the time left in the operation (rule 4). */
  readonly virsh: Virsh;
  timeoutMs: number;
  deadline: number;
  remaining(): number;
}

const SECONDS = /^(\d+)s$/;

function defaultTimeoutMs(action: string): number {
  const a = transientDomainSpec.actions.find((x) => x.name === action);
  const m = a ? SECONDS.exec(a.timeout) : null;
  return m ? Number(m[1]) * 1000 : 20_000;
}

export function makeContext(action: string, env: NodeJS.ProcessEnv, startedAt = Date.now()): Ctx {
  const parsed = parseParams<TransientDomainParams>(transientDomainSpec, env);
  const params = parsed.ok ? parsed.params : undefined;
  const timeoutMs = Number(env.OCF_RESKEY_CRM_meta_timeout) > 0 ? Number(env.OCF_RESKEY_CRM_meta_timeout) : defaultTimeoutMs(action);
  // Leave time to clean up and report before Pacemaker's own timeout strikes.
  const margin = Math.min(5000, Math.max(1000, timeoutMs * 0.1));
  const deadline = startedAt + timeoutMs - margin;
  let doc: DomainDoc | undefined;
  let configError: string | undefined;
  const text = configText(env.OCF_RESKEY_config);
  if (text === undefined) {
    configError = env.OCF_RESKEY_config ? `cannot read the domain XML file ${env.OCF_RESKEY_config}` : 'parameter config is not set';
  } else {
    try {
      doc = DomainDoc.parse(text);
      if (/[/\0]/.test(doc.name) || doc.name === '.' || doc.name === '..') throw new DomainXmlError(`invalid domain name "${doc.name}"`);
    } catch (e) {
      doc = undefined;
      configError = (e as Error).message;
    }
  }
  const uri = params?.hypervisor ?? env.OCF_RESKEY_hypervisor ?? 'qemu:///system';
  const remaining = () => deadline - Date.now();
  return {
    action,
    env,
    resource: env.OCF_RESOURCE_INSTANCE ?? (doc ? `vm-${doc.name}` : 'TransientDomain'),
    params,
    paramErrors: parsed.ok ? [] : parsed.errors,
    doc,
    configError,
    get virsh(): Virsh {
      return { uri, timeoutMs: Math.min(20_000, Math.max(500, remaining())) };
    },
    timeoutMs,
    deadline,
    remaining,
  };
}

/** Parameters and configuration, or OCF_ERR_CONFIGURED with the reason. */
export function requireConfig(ctx: Ctx): { params: TransientDomainParams; doc: DomainDoc; id: Identity } {
  if (!ctx.params) throw fail.configured(ctx.paramErrors.join('; '));
  if (!ctx.doc) throw fail.configured(`invalid domain XML: ${ctx.configError}`);
  return { params: ctx.params, doc: ctx.doc, id: identityOf(ctx.doc) };
}

export function identityOf(doc: DomainDoc): Identity {
  return doc.uuid ? { name: doc.name, uuid: doc.uuid } : { name: doc.name };
}

/** The domain this resource runs here: from its configuration, or else from what start recorded. */
export function knownIdentity(ctx: Ctx): Identity | undefined {
  if (ctx.doc) return identityOf(ctx.doc);
  const s = readState(ctx.resource);
  return s ? (s.uuid ? { name: s.name, uuid: s.uuid } : { name: s.name }) : undefined;
}

export function isOcfError(e: unknown): e is OcfError {
  return e instanceof OcfError;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

export { OCF };
