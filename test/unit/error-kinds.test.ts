// An error's kind alone decides the exit code: the commands' (cliExitCode) and the resource agent's (ocfExitCode).
import { describe, expect, it } from 'vitest';
import { cliExitCode, UsageError } from '../../lib/cli/errors.js';
import { kindOf, withContext, type ErrorKind } from '../../lib/errors.js';
import { OCF, fail, ocfExitCode } from '../../lib/ocf/exit.js';
import { PlanError } from '../../lib/cib/vm.js';
import { OptionError } from '../../lib/cib/options.js';
import { PatternError } from '../../lib/ops/patterns.js';
import { VmUsageError } from '../../lib/ops/request.js';
import { DomainXmlError } from '../../lib/domain/doc.js';
import { CibUnreachableError } from '../../lib/host/pacemaker/cib.js';

const KINDS: ErrorKind[] = ['refused', 'bad-args', 'not-installed', 'unreachable', 'failed'];

describe('error kinds', () => {
  it('map to the commands\' exit codes: refused input 2, anything else 1', () => {
    expect(KINDS.map((k) => [k, cliExitCode(k)])).toEqual([
      ['refused', 2],
      ['bad-args', 2],
      ['not-installed', 1],
      ['unreachable', 1],
      ['failed', 1],
    ]);
  });

  it('map to OCF exit codes in one place', () => {
    expect(KINDS.map((k) => [k, ocfExitCode(k)])).toEqual([
      ['refused', OCF.ERR_CONFIGURED],
      ['bad-args', OCF.ERR_ARGS],
      ['not-installed', OCF.ERR_INSTALLED],
      ['unreachable', OCF.ERR_GENERIC],
      ['failed', OCF.ERR_GENERIC],
    ]);
    expect([fail.generic('x'), fail.args('x'), fail.configured('x'), fail.installed('x')].map((e) => e.code)).toEqual([1, 2, 6, 5]);
  });

  it('the errors that were rewrapped into usage errors are refused themselves; others failed', () => {
    for (const e of [new UsageError('x'), new PlanError('x'), new OptionError('x'), new PatternError('x'), new VmUsageError('x')]) {
      expect([e.name, kindOf(e)]).toEqual([e.name, 'refused']);
      expect(e.message).toBe('x');
    }
    expect(kindOf(new DomainXmlError('x'))).toBe('failed');
    expect(kindOf(new CibUnreachableError('x'))).toBe('unreachable');
    expect(kindOf(new Error('x'))).toBe('failed');
    expect(kindOf('a string')).toBe('failed');
  });

  it('context added to an error keeps the error itself: its class, its kind, its exit code', () => {
    const refused = new PlanError('the VM is pinned');
    const e = withContext(refused, '; nothing changed');
    expect([e, e.message, kindOf(e), cliExitCode(kindOf(e))]).toEqual([refused, 'the VM is pinned; nothing changed', 'refused', 2]);
    expect(kindOf(withContext(new CibUnreachableError('no answer'), ' (CIB_file)'))).toBe('unreachable');
    const thrown = withContext('a string', '!');
    expect([thrown instanceof Error, thrown.message, kindOf(thrown)]).toEqual([true, 'a string!', 'failed']);
  });
});
