// `corral node undrain [--return]` as an Operation (lib/ops/operation.ts): out of standby, and with
// --return the VMs the drain moved away come back live where Pacemaker agrees (planUndrainOf).
import type { ClusterPort } from '../../host/pacemaker/cluster-port.js';
import { planUndrainOf, undrainNode, type UndrainCheck, type UndrainOutcome } from '../maintenance.js';
import { vmCount, type Operation } from '../operation.js';

export interface UndrainArgs {
  node: string;
  returnVms: boolean;
  parallel?: number;
  cluster?: ClusterPort;
}

function planText(check: UndrainCheck, returnVms: boolean): string {
  const lines = [
    `undrain ${check.node}: out of standby${returnVms ? `; ${vmCount(check.back.length)} to come back` : ` (${vmCount(check.owed.length)} it owes stay where they are; --return brings them back)`}`,
    ...check.back.map((m) => `  ${m.vm}: ${m.from} → ${m.to}`),
    ...check.stay.map((s) => `  ${s.vm} stays: ${s.why}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Undrain takes no maintenance lock: it is how a drain, finished or not, is ended. */
export function undrainOperation(a: UndrainArgs): Operation<UndrainCheck, UndrainOutcome> {
  return {
    name: 'node-undrain',
    async plan(snap) {
      const check = await planUndrainOf(snap, a.node, a.returnVms, a.cluster);
      return {
        plan: check,
        json: { node: a.node, owed: check.owed, back: check.back, stay: check.stay },
        text: planText(check, a.returnVms),
        nodes: [a.node],
        vms: check.back.map((m) => m.vm),
      };
    },
    execute: (check, progress) => undrainNode(check, { returnVms: a.returnVms, progress, ...(a.parallel ? { parallel: a.parallel } : {}), ...(a.cluster ? { cluster: a.cluster } : {}) }),
    report: (r) => ({ out: [...r.stayed.map((s) => `${s.vm} stays: ${s.why}`), ...(r.ok ? [`${a.node} undrained${r.returned.length ? `: ${vmCount(r.returned.length)} back, live` : ''}`] : [])], err: r.problems }),
  };
}
