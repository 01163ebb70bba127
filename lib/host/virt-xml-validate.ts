// The one place that runs virt-xml-validate(1): libvirt's own Relax-NG check of an XML document.
// It only reads files, so the XML goes through a private temporary directory that is always removed.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './exec.js';

export interface ValidationResult {
  ok: boolean;
  /** "valid", or what virt-xml-validate said (temporary path replaced by the schema's name). */
  message: string;
}

/** libvirt schema names virt-xml-validate knows (a subset corral uses). */
type LibvirtSchema = 'domain' | 'network' | 'secret' | 'capability' | 'domainsnapshot';

/** Validates XML against libvirt's SCHEMA with virt-xml-validate; never throws for invalid XML. */
async function validateLibvirtXml(
  xml: string,
  schema: LibvirtSchema,
  opts: { timeoutMs?: number } = {},
): Promise<ValidationResult> {
  const dir = await mkdtemp(join(tmpdir(), 'corral-validate-'));
  const file = join(dir, `${schema}.xml`);
  try {
    await writeFile(file, xml, { mode: 0o600 });
    const r = await run('virt-xml-validate', [file, schema], { timeoutMs: opts.timeoutMs ?? 30_000 });
    if (r.exitCode === 0) return { ok: true, message: 'valid' };
    if (r.failedToStart) return { ok: false, message: `cannot run virt-xml-validate: ${r.stderr}` };
    if (r.timedOut) return { ok: false, message: 'virt-xml-validate timed out' };
    const said = `${r.stderr}\n${r.stdout}`
      .split(file)
      .join(`${schema}.xml`)
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join('\n');
    return { ok: false, message: said || `virt-xml-validate exited ${r.exitCode}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `virt-xml-validate FILE domain` on XML. */
export function validateDomainXml(xml: string, opts: { timeoutMs?: number } = {}): Promise<ValidationResult> {
  return validateLibvirtXml(xml, 'domain', opts);
}
