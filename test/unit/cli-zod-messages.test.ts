// lib/cli/zod-messages.ts: no zod wording reaches a user. Every issue code zod can raise for a
// schema without its own message gets corral's words; schemas with their own keep them.
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { installZodMessages } from '../../lib/cli/zod-messages.js';
import { parseAgentParams } from '../../lib/cib/options.js';

beforeAll(() => installZodMessages());

const message = (schema: z.ZodType, value: unknown): string[] => {
  const r = schema.safeParse(value);
  if (r.success) throw new Error('expected a failure');
  return r.error.issues.map((i) => i.message);
};

describe('zod issues in corral words', () => {
  it.each<[string, z.ZodType, unknown, string[]]>([
    ['a number too small', z.number().int().min(0), -1, ['must be at least 0']],
    ['a number not above', z.number().gt(0), 0, ['must be more than 0']],
    ['a number too big', z.number().max(65535), 70000, ['must be at most 65535']],
    ['a fraction for an integer', z.number().int(), 1.5, ['expected a whole number']],
    ['a number for text', z.string(), 5, ['expected text']],
    ['nothing at all', z.string(), undefined, ['missing']],
    ['an enum', z.enum(['ssh', 'tcp', 'tls']), 'x', ['expected ssh, tcp or tls']],
    ['a literal', z.literal('auto'), 'x', ['must be auto']],
    ['a regex', z.string().regex(/^x$/), 'y', ['has the wrong form']],
    ['a format', z.email(), 'y', ['is not a valid email']],
    ['short text', z.string().min(3), 'a', ['must be at least 3 characters']],
    ['an empty list', z.array(z.string()).min(1), [], ['must be at least 1 item']],
    ['a multiple', z.number().multipleOf(3), 1, ['must be a multiple of 3']],
    ['unknown keys', z.object({}).strict(), { a: 1, b: 2 }, ['unknown settings a, b']],
    ['a union', z.union([z.number(), z.boolean()]), 'x', ['is none of the accepted forms']],
    ['a refine without a message', z.number().refine(() => false), 1, ['is not valid']],
  ])('%s', (_what, schema, value, expected) => {
    expect(message(schema, value)).toEqual(expected);
  });

  it("keeps a schema's own message", () => {
    expect(message(z.string().regex(/^x$/, 'a thing is x'), 'y')).toEqual(['a thing is x']);
  });

  it('domadd --param values checked by the agent table read in corral words', () => {
    expect(() => parseAgentParams(['migration_speed=-1'])).toThrow(/^--param migration_speed=-1: must be at least 0$/);
    expect(() => parseAgentParams(['migration_transport=xyz'])).toThrow(
      /^--param migration_transport=xyz: expected ssh, tcp, tls, libssh or libssh2$/,
    );
  });
});
