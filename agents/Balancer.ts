// ocf:corral:Balancer — entry point: corral's load balancer as a Pacemaker resource
// (lib/ops/balancer-resource.ts).
import { runBalancerAction } from '../lib/ops/balancer-resource.js';

runBalancerAction(process.argv[2] ?? '', process.env).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`ocf-exit-reason:internal error: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
