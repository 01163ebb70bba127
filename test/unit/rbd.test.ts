import { describe, expect, it } from 'vitest';
import { DomainDoc } from '../../lib/domain/doc.js';
import { cephAuths, rbdDisks } from '../../lib/domain/rbd.js';
import { keyFromKeyring } from '../../lib/host/ceph-secret.js';
import { rbdTarget } from '../../lib/ops/installer/rbd.js';

const UUID = '5B0E8F9A-2C1D-4E3F-8A7B-6C5D4E3F2A1B';
const disk = (name: string, extra = '', auth = true) =>
  `<disk type="network" device="disk"><driver name="qemu" type="raw"/>${auth ? `<auth username="corral"><secret type="ceph" uuid="${UUID}"/></auth>` : ''}<source protocol="rbd" name="${name}"><host name="10.0.0.1"/></source><target dev="vd${name.length % 26 === 0 ? 'z' : 'a'}" bus="virtio"/>${extra}</disk>`;
const doc = (devices: string) => DomainDoc.parse(`<domain type="kvm"><name>gum</name><devices>${devices}</devices></domain>`);

describe('a domain\'s RBD disks', () => {
  it('names each image (pool rbd when unsaid), the client and the secret (lower case), and which may be shared', () => {
    const d = doc(`${disk('corral-vms/gum')}${disk('old', '<readonly/>', false)}<disk type="file" device="disk"><source file="/x"/><target dev="vdc"/></disk>` +
      '<disk type="network" device="disk"><source protocol="nbd" name="x"/><target dev="vdd"/></disk>');
    expect(rbdDisks(d)).toEqual([
      { target: 'vda', name: 'corral-vms/gum', username: 'corral', secretUuid: UUID.toLowerCase(), monitors: ['10.0.0.1'], shared: false },
      { target: 'vda', name: 'rbd/old', monitors: ['10.0.0.1'], shared: true },
    ]);
  });

  it('names its monitors as rbd -m takes them', () => {
    const d = doc('<disk type="network" device="disk"><source protocol="rbd" name="p/i"><host name="mon1" port="6789"/><host name="::1" port="3300"/><host name="10.0.0.3"/></source><target dev="vda"/></disk>');
    expect(rbdDisks(d)[0]?.monitors).toEqual(['mon1:6789', '[::1]:3300', '10.0.0.3']);
  });

  it('lists each cephx identity once, and none for disks without <auth>', () => {
    expect(cephAuths(doc(`${disk('p/a')}${disk('p/b')}`))).toEqual([{ username: 'corral', secretUuid: UUID.toLowerCase() }]);
    expect(cephAuths(doc(disk('p/a', '', false)))).toEqual([]);
  });
});

describe('a client\'s key in a keyring file', () => {
  const key = Buffer.from('0123456789abcdef0123456789ab');
  const text = `[client.admin]\n\tkey = ${Buffer.alloc(28, 1).toString('base64')}\n[client.corral]\n\tkey = ${key.toString('base64')}\n\tcaps mon = "profile rbd"\n`;

  it('is the decoded key of that client\'s section only', () => {
    expect(keyFromKeyring(text, 'client.corral')).toEqual(key);
    expect(keyFromKeyring(text, 'client.other')).toBeUndefined();
    expect(keyFromKeyring('[client.corral]\n\tcaps mon = "x"\n', 'client.corral')).toBeUndefined();
    expect(keyFromKeyring('[client.corral]\nkey = short==\n', 'client.corral')).toBeUndefined();
  });
});

describe('mk_debian_installer\'s rbd:POOL/IMAGE', () => {
  it('is told from a path, and a malformed one is refused', () => {
    expect(rbdTarget('rbd:corral-vms/db')).toBe('corral-vms/db');
    expect(rbdTarget('/dev/vm/db')).toBeUndefined();
    expect(rbdTarget('/var/lib/corral/rbd:x.img')).toBeUndefined();
    for (const bad of ['rbd:db', 'rbd:a/b/c', 'rbd:/db', 'rbd:p/-x', 'rbd:p/a b']) expect(() => rbdTarget(bad)).toThrow(/rbd:POOL\/IMAGE/);
  });
});
