// OCF 1.1 exit codes, and the one place that maps an error's kind (lib/errors.ts) to one.
import { CorralError, type ErrorKind } from '../errors.js';

export const OCF = {
  SUCCESS: 0,
  ERR_GENERIC: 1,
  ERR_ARGS: 2,
  ERR_UNIMPLEMENTED: 3,
  ERR_PERM: 4,
  ERR_INSTALLED: 5,
  ERR_CONFIGURED: 6,
  NOT_RUNNING: 7,
} as const;

export type OcfCode = (typeof OCF)[keyof typeof OCF];

/**
 * The OCF exit code of an action that ends with an error of KIND: refused (the resource's
 * configuration) OCF_ERR_CONFIGURED, bad-args OCF_ERR_ARGS, not-installed OCF_ERR_INSTALLED,
 * anything else OCF_ERR_GENERIC.
 */
export function ocfExitCode(kind: ErrorKind): OcfCode {
  switch (kind) {
    case 'refused':
      return OCF.ERR_CONFIGURED;
    case 'bad-args':
      return OCF.ERR_ARGS;
    case 'not-installed':
      return OCF.ERR_INSTALLED;
    case 'unreachable':
    case 'failed':
    case 'unanswered':
      return OCF.ERR_GENERIC;
  }
}

/** A failure that ends an action with the code of its KIND and REASON (printed as `ocf-exit-reason:`). */
export class OcfError extends CorralError {
  constructor(
    readonly kind: ErrorKind,
    reason: string,
  ) {
    super(reason);
    this.name = 'OcfError';
  }

  get code(): OcfCode {
    return ocfExitCode(this.kind);
  }
}

export const fail = {
  generic: (reason: string) => new OcfError('failed', reason),
  args: (reason: string) => new OcfError('bad-args', reason),
  configured: (reason: string) => new OcfError('refused', reason),
  installed: (reason: string) => new OcfError('not-installed', reason),
};
