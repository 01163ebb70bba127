// An OCF agent's meta-data as the ecosystem checks it: resource-agents' metadata.rng and the OCF DTD.
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

export function expectValidOcfMetadata(xml: string): void {
  const rng = spawnSync('xmllint', ['--noout', '--relaxng', '/usr/share/resource-agents/metadata.rng', '-'], { input: xml, encoding: 'utf8' });
  expect(rng.status, rng.stderr).toBe(0);
  const dtd = spawnSync('xmllint', ['--noout', '--valid', '-'], { input: xml, cwd: '/usr/share/resource-agents', encoding: 'utf8' });
  expect(dtd.status, dtd.stderr).toBe(0);
}
