// `corral lab …`: a real multi-node cluster on one machine (see the lab issue). Placeholder until
// the lab commands land; registered by scripts/corral.ts.
import type { Command } from 'commander';

export function registerLab(_program: Command): void {}
