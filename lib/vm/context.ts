// Everything an action needs: validated parameters, the domain's identity, the host it acts on
// (the port), the libvirt connection and the deadline derived from the operation's timeout (safety
// rule 4).
import { fail } from '../ocf/exit.js';
import { parseParams } from '../ocf/params.js';
import { DomainDoc, DomainXmlError } from '../domain/doc.js';
import { rawEnvValue, readConfig } from './config.js';
import { decodeUtf8 } from '../domain/text.js';
import type { AgentHost, Conn, Identity } from '../host/agent-port.js';
import { transientDomainSpec, type TransientDomainParams } from '../ocf/transient-domain.js';

export interface Ctx {
  action: string;
  env: NodeJS.ProcessEnv;
  resource: string;
  /** Undefined when the parameters did not validate; paramErrors says why. */
  params?: TransientDomainParams;
  paramErrors: string[];
  /** The parsed configuration, or why it could not be read or parsed (a sentence for an exit reason). */
  doc?: DomainDoc;
  configError?: string;
  /** A probe: a monitor with no interval (OCF_RESKEY_CRM_meta_interval unset or 0), as ocf_is_probe. */
  probe: boolean;
  /** The node: libvirt, processes, files, the clock, logging. */
  host: AgentHost;
  /** The libvirt connection; each call is bounded by the time left in the operation (rule 4). */
  readonly conn: Conn;
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

export function makeContext(
  action: string,
  env: NodeJS.ProcessEnv,
  host: AgentHost,
  startedAt = host.now(),
  /** The bytes of an inline config as received; process.env has turned bytes that are not UTF-8 into U+FFFD. */
  rawInlineConfig: Buffer | undefined = env === process.env ? rawEnvValue('OCF_RESKEY_config') : undefined,
): Ctx {
  const parsed = parseParams<TransientDomainParams>(transientDomainSpec, env);
  const params = parsed.ok ? parsed.params : undefined;
  const timeoutMs = Number(env.OCF_RESKEY_CRM_meta_timeout) > 0 ? Number(env.OCF_RESKEY_CRM_meta_timeout) : defaultTimeoutMs(action);
  // Leave time to clean up and report before Pacemaker's own timeout strikes.
  const margin = Math.min(5000, Math.max(1000, timeoutMs * 0.1));
  const deadline = startedAt + timeoutMs - margin;
  let doc: DomainDoc | undefined;
  let configError: string | undefined;
  // Never blocks, never reads more than 1 MiB: a config that is neither inline XML nor a bounded
  // regular file is an error here, for every action. Each action then does with a broken
  // configuration what it does with any other (stop and monitor: see there).
  const config = readConfig(env.OCF_RESKEY_config);
  const decoded = config.ok && config.inline && rawInlineConfig ? decodeUtf8(rawInlineConfig, 'config') : undefined;
  if (!config.ok) {
    configError = config.error;
  } else if (decoded && !decoded.ok) {
    configError = decoded.error;
  } else {
    try {
      doc = DomainDoc.parse(config.xml);
      if (/[/\0]/.test(doc.name) || doc.name === '.' || doc.name === '..') throw new DomainXmlError(`invalid domain name "${doc.name}"`);
    } catch (e) {
      doc = undefined;
      configError = `invalid domain XML: ${(e as Error).message}`;
    }
  }
  const uri = params?.hypervisor ?? env.OCF_RESKEY_hypervisor ?? 'qemu:///system';
  const remaining = () => deadline - host.now();
  return {
    action,
    env,
    resource: env.OCF_RESOURCE_INSTANCE ?? (doc ? `vm-${doc.name}` : 'TransientDomain'),
    params,
    paramErrors: parsed.ok ? [] : parsed.errors,
    doc,
    configError,
    probe: (action === 'monitor' || action === 'status') && !(Number(env.OCF_RESKEY_CRM_meta_interval) > 0),
    host,
    get conn(): Conn {
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
  if (!ctx.doc) throw fail.configured(ctx.configError ?? 'invalid domain XML');
  return { params: ctx.params, doc: ctx.doc, id: identityOf(ctx.doc) };
}

function identityOf(doc: DomainDoc): Identity {
  return doc.uuid ? { name: doc.name, uuid: doc.uuid } : { name: doc.name };
}

/** The domain this resource runs here: from its configuration, or else from what start recorded. */
export function knownIdentity(ctx: Ctx): Identity | undefined {
  if (ctx.doc) return identityOf(ctx.doc);
  const s = ctx.host.readState(ctx.resource);
  return s ? (s.uuid ? { name: s.name, uuid: s.uuid } : { name: s.name }) : undefined;
}

