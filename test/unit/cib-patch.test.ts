// The CIB patch corral writes itself (lib/cib/patch.ts) and the change procedure around it
// (lib/cib/change.ts), against a simulated CIB manager: what reaches cibadmin is exactly the plan,
// a concurrent write makes the change start again, a CIB that did not change as planned is undone.
import { describe, expect, it } from 'vitest';
import { changeCib, CibChangeError, type CibPort } from '../../lib/cib/change.js';
import { CibDoc } from '../../lib/cib/edit.js';
import { applyPatch, canonical, configurationOf, makePatch } from '../../lib/cib/patch.js';
import { planAddVm } from '../../lib/cib/vm.js';
import { readXml } from '../../lib/xml/read.js';
import { DomainDoc } from '../../lib/domain/doc.js';
import { serialize } from '../../lib/xml/dom.js';
import { render } from '../../lib/cib/render.js';

const CIB = `<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="7" num_updates="3" admin_epoch="0">
  <configuration>
    <crm_config><cluster_property_set id="opts"><nvpair id="opts-se" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
    <resources>
      <primitive id="r1" class="ocf" provider="heartbeat" type="Dummy"><instance_attributes id="r1-ia"><nvpair id="r1-ia-x" name="x" value="1"/></instance_attributes></primitive>
      <primitive id="r2" class="ocf" provider="heartbeat" type="Dummy"/>
    </resources>
    <constraints><rsc_location id="l1" rsc="r1" node="n1" score="5"/></constraints>
  </configuration>
  <status/>
</cib>`;

/** The configuration of XML, canonical. */
function conf(xml: string): string {
  return canonical(configurationOf(readXml(xml)));
}

function edited(fn: (d: CibDoc) => void): { before: CibDoc; after: CibDoc } {
  const before = CibDoc.parse(CIB);
  const after = CibDoc.parse(CIB);
  fn(after);
  return { before, after };
}

const INJECTION = 'Café"/></instance_attributes></primitive><primitive id="evil" class="ocf" provider="heartbeat" type="anything"/>';

describe('makePatch', () => {
  it('writes creates, modifies and deletes that give exactly the new configuration, tied to the old version', () => {
    const { before, after } = edited((d) => {
      d.byId('r1-ia-x')?.setAttribute('value', INJECTION);
      d.remove(d.byId('l1') as Element);
      d.append(d.section('resources'), render('<primitive id="{{id}}" class="ocf" provider="heartbeat" type="Dummy"/>', { id: 'r3' }));
    });
    const p = makePatch(before.doc.documentElement, after.doc.documentElement);
    expect(p).toBeDefined();
    if (!p) return;
    expect(p.source).toEqual({ adminEpoch: 0, epoch: 7, numUpdates: 3 });
    expect(p.target).toEqual({ adminEpoch: 0, epoch: 8, numUpdates: 0 });
    expect(p.changes).toBe(3);
    expect(p.xml).toContain(`<change operation="delete" path="/cib/configuration/constraints/rsc_location[@id='l1']"/>`);
    expect(p.xml).toContain(`<change operation="create" path="/cib/configuration/resources" position="2">`);
    // The injected markup stays an attribute value, escaped whatever comes before it.
    expect(p.xml).toContain('value="Café&quot;/&gt;&lt;/instance_attributes&gt;');
    const result = applyPatch(readXml(CIB), p.xml);
    expect(canonical(configurationOf(result))).toBe(conf(after.toXml()));
    expect(JSON.stringify(result)).not.toContain('"id","evil"');
  });

  it('is undefined when the configuration does not change (status and versions aside)', () => {
    const { before, after } = edited(() => {});
    expect(makePatch(before.doc.documentElement, after.doc.documentElement)).toBeUndefined();
  });

  it('replaces an element whose children were reordered, and the result is still exact', () => {
    const { before, after } = edited((d) => {
      const res = d.section('resources');
      const r2 = d.byId('r2') as Element;
      res.insertBefore(r2, d.byId('r1') as Element);
    });
    const p = makePatch(before.doc.documentElement, after.doc.documentElement);
    expect(p).toBeDefined();
    if (!p) return;
    expect(canonical(configurationOf(applyPatch(readXml(CIB), p.xml)))).toBe(conf(after.toXml()));
  });

  it('a patch that does not read strictly, or names what is not there, is refused', () => {
    expect(() => applyPatch(readXml(CIB), '<diff format="2"><change operation="create" path="/cib/configuration/resources" position="0"><primitive id="x"></change></diff>')).toThrow(/not well-formed/);
    expect(() => applyPatch(readXml(CIB), `<diff format="2"><change operation="delete" path="/cib/configuration/resources/primitive[@id='nope']"/></diff>`)).toThrow(/not in the CIB/);
  });
});

/** A CIB manager in memory: versions, the version check, and optional misbehaviour. */
class FakeCib implements CibPort {
  xml = CIB;
  patches: string[] = [];
  /** Called before a patch applies: another writer's change, say. */
  beforePatch?: () => void;
  /** Applies something else than the patch (a CIB manager that misreads it). */
  tamper?: (applied: string) => string;
  locked = 0;

  async query(): Promise<string> {
    return this.xml;
  }
  async version(): Promise<{ adminEpoch: number; epoch: number; numUpdates: number }> {
    const a = readXml(this.xml).attrs;
    return { adminEpoch: Number(a.admin_epoch), epoch: Number(a.epoch), numUpdates: Number(a.num_updates) };
  }
  async verify(): Promise<{ ok: boolean; messages: string[] }> {
    return { ok: true, messages: [] };
  }
  async lock(): Promise<() => Promise<void>> {
    this.locked++;
    return async () => {
      this.locked--;
    };
  }
  async patch(patch: string): Promise<'applied' | 'conflict'> {
    this.patches.push(patch);
    this.beforePatch?.();
    this.beforePatch = undefined;
    const cur = readXml(this.xml);
    const src = /<source admin_epoch="(\d+)" epoch="(\d+)" num_updates="(\d+)"/.exec(patch);
    if (!src || `${src[1]}.${src[2]}.${src[3]}` !== `${cur.attrs.admin_epoch}.${cur.attrs.epoch}.${cur.attrs.num_updates}`) return 'conflict';
    const next = applyPatch(cur, patch);
    next.attrs = { ...next.attrs, epoch: String(Number(cur.attrs.epoch) + 1), num_updates: '0' };
    this.xml = toXml(next);
    if (this.tamper) this.xml = this.tamper(this.xml);
    return 'applied';
  }
}

function toXml(n: ReturnType<typeof readXml>): string {
  const doc = CibDoc.parse(`<cib><configuration/></cib>`).doc;
  const build = (x: ReturnType<typeof readXml>): Element => {
    const el = doc.createElement(x.tag);
    for (const [k, v] of Object.entries(x.attrs)) el.setAttribute(k, v);
    if (x.text.trim()) el.appendChild(doc.createTextNode(x.text));
    for (const c of x.children) el.appendChild(build(c));
    return el;
  };
  return serialize(build(n));
}

const gum = (extra = ''): DomainDoc =>
  DomainDoc.parse(`<domain type="qemu"><name>gum</name><uuid>11111111-2222-4333-8444-555555555555</uuid><description>${extra}</description><memory unit="MiB">64</memory><vcpu>1</vcpu><os><type arch="x86_64">hvm</type></os><devices><serial type="pty"><log file="/var/log/corral/console/gum.log" append="on"/></serial></devices></domain>`);

describe('changeCib', () => {
  it('adds a VM whose XML holds markup after non-ASCII text as exactly one primitive, the XML stored intact', async () => {
    const cib = new FakeCib();
    const doc = gum('Café € 😀&lt;/description&gt;&quot;/&gt;&lt;primitive id="evil"/&gt;');
    const r = await changeCib(cib, (cd, c) => planAddVm(cd, c, { doc, placement: {}, replace: false }));
    expect(r.applied).toBe(true);
    expect(cib.patches[0]).toMatch(/^[\x00-\x7f]*$/);
    const after = readXml(cib.xml);
    const prims = configurationOf(after).children.find((c) => c.tag === 'resources')?.children.map((c) => c.attrs.id);
    expect(prims).toEqual(['r1', 'r2', 'vm-gum']);
    const config = /name="config" value="([^"]*)"/.exec(cib.xml)?.[1] ?? '';
    const stored = DomainDoc.parse(readXml(`<x v="${config}"/>`).attrs.v ?? '');
    expect(stored.root.getElementsByTagName('description')[0]?.textContent).toBe('Café € 😀</description>"/><primitive id="evil"/>');
    expect(cib.locked).toBe(0);
  });

  it('starts again from a fresh read when the CIB changed between the read and the patch', async () => {
    const cib = new FakeCib();
    let edits = 0;
    cib.beforePatch = () => {
      // Another writer's configuration change: Pacemaker raises the epoch.
      cib.xml = cib.xml.replace('epoch="7" num_updates="3"', 'epoch="8" num_updates="0"').replace('<primitive id="r2"', '<primitive id="r9" class="ocf" provider="heartbeat" type="Dummy"/><primitive id="r2"');
    };
    const r = await changeCib(cib, (cd) => {
      edits++;
      cd.remove(cd.byId('l1') as Element);
      return { notes: [], warnings: [] };
    });
    expect(r.applied).toBe(true);
    expect(edits).toBe(2);
    expect(cib.patches).toHaveLength(2);
    expect(cib.xml).toContain('id="r9"'); // the other writer's change survives
    expect(cib.xml).not.toContain('id="l1"');
  });

  it('when only the status moved on (num_updates), sends the same change tied to the new counter, without computing it again', async () => {
    const cib = new FakeCib();
    let edits = 0;
    let bumps = 3;
    cib.beforePatch = () => {
      cib.xml = cib.xml.replace(/num_updates="\d+"/, `num_updates="${++bumps}"`);
    };
    const r = await changeCib(cib, (cd) => {
      edits++;
      cd.remove(cd.byId('l1') as Element);
      return { notes: [], warnings: [] };
    });
    expect(r.applied).toBe(true);
    expect(edits).toBe(1);
    expect(cib.patches).toHaveLength(2);
    expect(cib.patches[1]).toContain('<source admin_epoch="0" epoch="7" num_updates="4"/>');
    expect(cib.xml).not.toContain('id="l1"');
  });

  it('gives up, changing nothing, when the CIB keeps changing', async () => {
    const cib = new FakeCib();
    cib.patch = async () => 'conflict';
    await expect(changeCib(cib, (cd) => (cd.remove(cd.byId('l1') as Element), { notes: [], warnings: [] }))).rejects.toThrow(/changed 5 times .* nothing was changed/);
    expect(cib.xml).toBe(CIB);
  });

  it('undoes a change that did not land as planned, and says what differed', async () => {
    const cib = new FakeCib();
    let first = true;
    cib.tamper = (x) => {
      if (!first) return x;
      first = false;
      return x.replace('</resources>', '<primitive id="evil" class="ocf" provider="heartbeat" type="anything"/></resources>');
    };
    await expect(
      changeCib(cib, (cd) => (cd.remove(cd.byId('l1') as Element), { notes: [], warnings: [] })),
    ).rejects.toThrow(/did not change as planned .* it was undone.*unexpected primitive evil/);
    expect(conf(cib.xml)).toBe(conf(CIB));
  });

  it('refuses non-ASCII text outside a domain XML, before anything is sent', async () => {
    const cib = new FakeCib();
    await expect(
      changeCib(cib, (cd) => (cd.byId('r1-ia-x')?.setAttribute('value', 'naïve'), { notes: [], warnings: [] })),
    ).rejects.toThrow(/the character "ï" outside a domain XML/);
    expect(cib.patches).toHaveLength(0);
  });

  it('a dry run sends nothing and takes no lock', async () => {
    const cib = new FakeCib();
    const r = await changeCib(cib, (cd) => (cd.remove(cd.byId('l1') as Element), { notes: [], warnings: [] }), { dryRun: true });
    expect(r.applied).toBe(false);
    expect(r.patch).toContain('operation="delete"');
    expect(cib.patches).toHaveLength(0);
    expect(cib.xml).toBe(CIB);
  });
});
