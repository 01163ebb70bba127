// lib/host/pacemaker/: every call goes through the runner it is given (a lab node's, in the lab)
// with the arguments and bound of the one operation, and says in one line what failed.
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../lib/host/exec.js';
import { CibUnreachableError, queryCib } from '../../lib/host/pacemaker/cib.js';
import { moveResource } from '../../lib/host/pacemaker/resources.js';
import { clusterSettled, crmMonXml, localNodeName } from '../../lib/host/pacemaker/status.js';
import type { PcmkRunner, Via } from '../../lib/host/pacemaker/tool.js';

interface Call {
  file: string;
  args: readonly string[];
  timeoutMs: number;
}

/** A runner that records its calls and answers with ANSWER. */
function recorder(answer: Partial<RunResult> = {}, timeoutMs?: number): { via: Via; calls: Call[] } {
  const calls: Call[] = [];
  const runner: PcmkRunner = async (file, args, o) => {
    calls.push({ file, args, timeoutMs: o.timeoutMs });
    return { command: [file, ...args].join(' '), exitCode: 0, stdout: '', stderr: '', timedOut: false, failedToStart: false, ...answer };
  };
  return { via: { runner, timeoutMs }, calls };
}

describe('Pacemaker calls through a runner', () => {
  it('moveResource: to a node with a lifetime, or away from where it runs', async () => {
    const r = recorder({}, 30_000);
    await moveResource('vm-web', { node: 'n2', lifetime: 'PT30M' }, r.via);
    await moveResource('vm-web', {}, r.via);
    expect(r.calls).toEqual([
      { file: 'crm_resource', args: ['--move', '--resource', 'vm-web', '--node', 'n2', '--lifetime', 'PT30M'], timeoutMs: 30_000 },
      { file: 'crm_resource', args: ['--move', '--resource', 'vm-web'], timeoutMs: 30_000 },
    ]);
  });

  it('a refused move says which resource, where to, and the tool\'s own error line', async () => {
    // what crm_resource 2.1.5 prints for an unknown resource
    const r = recorder({ exitCode: 105, stderr: "crm_resource: Resource 'vm-web' not found\nError performing operation: No such object" });
    await expect(moveResource('vm-web', { node: 'n2' }, r.via)).rejects.toThrow(
      'moving vm-web to n2 failed: Error performing operation: No such object (crm_resource exited 105)',
    );
  });

  it('queryCib: a section of a node\'s CIB; a node without a CIB manager is an ordinary failure', async () => {
    const ok = recorder({ stdout: '<resources/>' });
    expect(await queryCib({ scope: 'resources' }, ok.via)).toBe('<resources/>');
    expect(ok.calls.map((c) => [c.file, c.args])).toEqual([['cibadmin', ['--query', '--scope', 'resources']]]);
    const down = recorder({ exitCode: 102, stderr: 'Could not connect to the CIB: Transport endpoint is not connected' });
    const e = await queryCib({}, down.via).catch((x: unknown) => x as Error);
    expect(e).not.toBeInstanceOf(CibUnreachableError);
    expect((e as Error).message).toBe('reading the CIB failed: Could not connect to the CIB: Transport endpoint is not connected (cibadmin exited 102)');
  });

  it('crmMonXml reads a CIB given as text on this host only', async () => {
    const r = recorder();
    await expect(crmMonXml({ cib: '<cib/>' }, r.via)).rejects.toThrow(/on this host only/);
    expect(r.calls).toEqual([]);
    await crmMonXml({}, r.via);
    expect(r.calls.map((c) => c.args)).toEqual([['--one-shot', '--inactive', '--output-as=xml']]);
  });

  /** A runner that answers each call with ANSWER(file, args) and records the calls. */
  function answering(answer: (file: string, args: readonly string[]) => Partial<RunResult>): { via: Via; calls: Call[] } {
    const calls: Call[] = [];
    const runner: PcmkRunner = async (file, args, o) => {
      calls.push({ file, args, timeoutMs: o.timeoutMs });
      return { command: [file, ...args].join(' '), exitCode: 0, stdout: '', stderr: '', timedOut: false, failedToStart: false, ...answer(file, args) };
    };
    return { via: { runner }, calls };
  }
  /** crmadmin as Pacemaker 2.1.5 answers: the DC's name to --dc_lookup, the controller state to --status. */
  const crmadmin = (state: string) => (file: string, args: readonly string[], simulate = noActions): Partial<RunResult> =>
    file === 'crmadmin' ? { stdout: args[0] === '--dc_lookup' ? 'n2\n' : `${state}\n` } : { stdout: simulate };
  const noActions = '<pacemaker-result><actions/><status code="0" message="OK"/></pacemaker-result>';
  const oneAction = '<pacemaker-result><actions><rsc_action action="stop" resource="vm-a" node="n1"/></actions></pacemaker-result>';

  it('clusterSettled: settled when the DC is idle and the scheduler, run on the live CIB, wants nothing', async () => {
    const r = answering(crmadmin('S_IDLE'));
    expect(await clusterSettled(r.via)).toBe(true);
    expect(r.calls.map((c) => [c.file, c.args[0], c.args[1]])).toEqual([
      ['crmadmin', '--dc_lookup', '--quiet'],
      ['crmadmin', '--status', 'n2'],
      ['crm_simulate', '--live-check', '--simulate'],
    ]);
  });

  it('clusterSettled: not settled while a transition runs (the scheduler is not asked), or when it still wants an action', async () => {
    const busy = answering(crmadmin('S_TRANSITION_ENGINE'));
    expect(await clusterSettled(busy.via)).toBe(false);
    expect(busy.calls.map((c) => c.file)).toEqual(['crmadmin', 'crmadmin']);
    const wants = answering((f, a) => crmadmin('S_IDLE')(f, a, oneAction));
    expect(await clusterSettled(wants.via)).toBe(false);
    const noDc = answering(() => ({ exitCode: 1, stderr: 'No DC' }));
    expect(await clusterSettled(noDc.via)).toBe(false);
  });

  it('localNodeName keeps its short bound when the runner gives none', async () => {
    const r = recorder({ stdout: 'n3\n' });
    expect(await localNodeName(r.via)).toBe('n3');
    expect(r.calls[0]?.timeoutMs).toBe(10_000);
  });
});
