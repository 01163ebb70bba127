// The libvirt secret of a Ceph client, made on a node from that node's key file: what QEMU's RBD
// driver authenticates with. The key goes from /etc/ceph/ceph.client.NAME.keyring into a private
// temporary file (mode 0600, in a directory of mode 0700 under /run, removed right after) that
// `virsh secret-set-value --file --plain` reads; it is never in an argument, the CIB or a log.
// The secret is persistent and private (`<secret ephemeral='no' private='yes'>`): it survives a
// libvirtd restart, and libvirt never hands its value out again (secret-get-value is refused).
// Loaded by the agent only for a domain with an RBD disk that has <auth> (lib/vm/ceph-secret.ts).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cephKeyringPath, type CephAuth } from '../domain/rbd.js';
import type { CephSecretOutcome, Conn } from './agent-port.js';
import { secretDefine, secretSetValueFromFile, secretUndefine, secretXml, VirshError } from './virsh.js';

const keyringPath = cephKeyringPath;

/** Private files holding a key for the moment of one virsh call (tmpfs on a Debian node). */
const SECRET_TMP = process.env.CORRAL_SECRET_TMP ?? '/run';

/**
 * The key of ENTITY (client.NAME) in a keyring file's text (Ceph's ini format: `[client.NAME]`,
 * then `key = BASE64`), as the raw bytes libvirt's ceph secret holds; undefined when it has none.
 */
export function keyFromKeyring(text: string, entity: string): Buffer | undefined {
  let inSection = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const section = /^\[([^\]]+)\]$/.exec(line);
    if (section) {
      inSection = section[1]?.trim() === entity;
      continue;
    }
    if (!inSection) continue;
    const m = /^key\s*=\s*([A-Za-z0-9+/]+={0,2})\s*$/.exec(line);
    if (!m) continue;
    const key = Buffer.from(m[1] as string, 'base64');
    return key.length >= 16 ? key : undefined;
  }
  return undefined;
}

function secretDefinition(auth: CephAuth): string {
  return [
    "<secret ephemeral='no' private='yes'>",
    `  <uuid>${auth.secretUuid}</uuid>`,
    `  <description>Ceph client.${auth.username}, made by corral from ${keyringPath(auth.username)}</description>`,
    "  <usage type='ceph'>",
    `    <name>client.${auth.username} secret</name>`,
    '  </usage>',
    '</secret>',
    '',
  ].join('\n');
}

const USERNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Makes sure the libvirt at C has AUTH's secret: defined and given the key from THIS node's key
 * file when libvirt has none; with REFRESH, given the key again when it has one (a key file that
 * changed since is then what the next QEMU uses; without a key file, the secret is used as it is).
 * A secret libvirt has for another purpose under that uuid is a failure, as is no secret and no key.
 */
export async function ensureCephSecret(c: Conn, auth: CephAuth, refresh: boolean): Promise<CephSecretOutcome> {
  if (!USERNAME.test(auth.username)) return { kind: 'failed', message: `the Ceph user ${JSON.stringify(auth.username)} is not a plain name` };
  if (!UUID.test(auth.secretUuid)) return { kind: 'failed', message: `the secret uuid ${JSON.stringify(auth.secretUuid)} is not a uuid` };
  let existing: string | undefined;
  try {
    existing = await secretXml(c, auth.secretUuid);
  } catch (e) {
    return { kind: 'failed', message: (e as Error).message };
  }
  if (existing !== undefined) {
    if (!/<usage\s+type=['"]ceph['"]/.test(existing)) return { kind: 'failed', message: `libvirt's secret ${auth.secretUuid} is not a Ceph secret` };
    if (!refresh) return { kind: 'present' };
  }

  const file = keyringPath(auth.username);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    // A secret libvirt has (made by hand, the key file removed since) is used as it is.
    if (existing !== undefined) return { kind: 'present' };
    const code = (e as NodeJS.ErrnoException).code;
    return { kind: 'no-key', message: `${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}` };
  }
  const key = keyFromKeyring(text, `client.${auth.username}`);
  if (!key) return existing !== undefined ? { kind: 'present' } : { kind: 'no-key', message: `${file} holds no key for client.${auth.username}` };

  const dir = await mkdtemp(path.join(SECRET_TMP, 'corral-secret-'));
  let defined = false;
  try {
    if (existing === undefined) {
      const xml = path.join(dir, 'secret.xml');
      await writeFile(xml, secretDefinition(auth), { mode: 0o600 });
      await secretDefine(c, xml);
      defined = true;
    }
    const value = path.join(dir, 'value');
    await writeFile(value, key, { mode: 0o600 });
    await secretSetValueFromFile(c, auth.secretUuid, value);
    return { kind: existing === undefined ? 'made' : 'refreshed' };
  } catch (e) {
    // A secret defined here without its value would make QEMU fail later, less clearly.
    if (defined) await secretUndefine(c, auth.secretUuid);
    return { kind: 'failed', message: e instanceof VirshError ? e.message : `${(e as Error).message}` };
  } finally {
    key.fill(0);
    await rm(dir, { recursive: true, force: true });
  }
}
