// `corral list | hosts | stats`: the cluster at a glance. Placeholder until the tables land;
// registered by scripts/corral.ts.
import type { Command } from 'commander';

export function registerTables(_program: Command): void {}
