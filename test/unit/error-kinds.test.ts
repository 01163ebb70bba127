// An error's kind alone decides the exit code: the commands' (cliExitCode) and the resource agent's (ocfExitCode).
import { describe, expect, it } from 'vitest';
import { checkAction, cliExitCode, UsageError } from '../../lib/cli/errors.js';
import { kindOf, withContext, withPrefix, type ErrorKind } from '../../lib/errors.js';
import { OCF, fail, ocfExitCode } from '../../lib/ocf/exit.js';
import { PlanError } from '../../lib/cib/vm.js';
import { OptionError } from '../../lib/cib/options.js';
import { PatternError } from '../../lib/ops/patterns.js';
import { VmUsageError } from '../../lib/ops/request.js';
import { DomainXmlError } from '../../lib/domain/doc.js';
import { FixupError } from '../../lib/domain/fixup.js';
import { SizeError } from '../../lib/domain/size.js';
import { CibUnreachableError } from '../../lib/host/pacemaker/cib.js';
import { SimulationError } from '../../lib/host/pacemaker/simulate.js';

const KINDS: ErrorKind[] = ['refused', 'bad-args', 'not-installed', 'unreachable', 'failed', 'unanswered'];

describe('error kinds', () => {
  it('map to the commands\' exit codes: refused input 2, a check that could not answer 3, anything else 1', () => {
    expect(KINDS.map((k) => [k, cliExitCode(k)])).toEqual([
      ['refused', 2],
      ['bad-args', 2],
      ['not-installed', 1],
      ['unreachable', 1],
      ['failed', 1],
      ['unanswered', 3],
    ]);
  });

  it("Pacemaker's scheduler that cannot answer is 'unanswered' (exit 3), with its own reasons in the message", () => {
    const e = new SimulationError(['Transition failed: terminated', 'An invalid transition was produced'], 1);
    expect([kindOf(e), cliExitCode(kindOf(e))]).toEqual(['unanswered', 3]);
    expect(e.message).toBe("Pacemaker's scheduler could not answer: Transition failed: terminated; An invalid transition was produced (crm_simulate exited 1)");
  });

  it("a check's action: refused input stays 2, anything else that ends it is 'could not answer' (3), never 1", async () => {
    const failing = (e: unknown) => checkAction(async () => Promise.reject(e))();
    const kindThrown = (p: Promise<void>) => p.then(() => 'none', (e: unknown) => [kindOf(e), cliExitCode(kindOf(e)), (e as Error).message]);
    expect(await kindThrown(failing(new UsageError('--size "x": VCPUS,MEMORY')))).toEqual(['refused', 2, '--size "x": VCPUS,MEMORY']);
    expect(await kindThrown(failing(new CibUnreachableError('the CIB did not answer')))).toEqual(['unanswered', 3, 'the CIB did not answer']);
    expect(await kindThrown(failing(new Error('a bug')))).toEqual(['unanswered', 3, 'a bug']);
    expect(await kindThrown(checkAction(async () => undefined)())).toBe('none');
  });

  it('map to OCF exit codes in one place', () => {
    expect(KINDS.map((k) => [k, ocfExitCode(k)])).toEqual([
      ['refused', OCF.ERR_CONFIGURED],
      ['bad-args', OCF.ERR_ARGS],
      ['not-installed', OCF.ERR_INSTALLED],
      ['unreachable', OCF.ERR_GENERIC],
      ['failed', OCF.ERR_GENERIC],
      ['unanswered', OCF.ERR_GENERIC],
    ]);
    expect([fail.generic('x'), fail.args('x'), fail.configured('x'), fail.installed('x')].map((e) => e.code)).toEqual([1, 2, 6, 5]);
  });

  it('the errors that were rewrapped into usage errors are refused themselves; others failed', () => {
    for (const e of [new UsageError('x'), new PlanError('x'), new OptionError('x'), new PatternError('x'), new VmUsageError('x'), new SizeError('x'), new FixupError('x')]) {
      expect([e.name, kindOf(e)]).toEqual([e.name, 'refused']);
      expect(e.message).toBe('x');
    }
    expect(kindOf(new DomainXmlError('x'))).toBe('failed');
    expect(kindOf(new CibUnreachableError('x'))).toBe('unreachable');
    expect(kindOf(new Error('x'))).toBe('failed');
    expect(kindOf('a string')).toBe('failed');
  });

  it('a prefix (the file or flag it is about) keeps the error itself too', () => {
    const e = new FixupError('two <uuid> elements');
    expect([withPrefix(e, 'vm.xml: '), e.message, kindOf(e), cliExitCode(kindOf(e))]).toEqual([e, 'vm.xml: two <uuid> elements', 'refused', 2]);
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
