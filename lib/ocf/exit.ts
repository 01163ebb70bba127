// OCF 1.1 exit codes.
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

/** A failure that ends an action with CODE and REASON (printed as `ocf-exit-reason:`). */
export class OcfError extends Error {
  constructor(
    readonly code: OcfCode,
    reason: string,
  ) {
    super(reason);
    this.name = 'OcfError';
  }
}

export const fail = {
  generic: (reason: string) => new OcfError(OCF.ERR_GENERIC, reason),
  args: (reason: string) => new OcfError(OCF.ERR_ARGS, reason),
  configured: (reason: string) => new OcfError(OCF.ERR_CONFIGURED, reason),
  installed: (reason: string) => new OcfError(OCF.ERR_INSTALLED, reason),
  perm: (reason: string) => new OcfError(OCF.ERR_PERM, reason),
};
