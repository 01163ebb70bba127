// What the tools and the agent accept as a domain XML: well-formed UTF-8 text of at most 1 MiB,
// one <name>, no DOCTYPE, no entity libvirt would read differently; and what corral writes back
// out parses to the same document.
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readInput } from '../../lib/cli/input.js';
import { DomainDoc, DomainXmlError } from '../../lib/domain/doc.js';
import { decodeUtf8, firstNonUtf8 } from '../../lib/domain/text.js';

const dom = (inner: string, attrs = '') => `<domain type="qemu"${attrs}><name>gum</name>${inner}</domain>`;

function refusal(xml: string): string {
  try {
    DomainDoc.parse(xml);
  } catch (e) {
    expect(e).toBeInstanceOf(DomainXmlError);
    return (e as Error).message;
  }
  throw new Error(`accepted: ${xml}`);
}

describe('DomainDoc.parse refuses what libvirt would read differently', () => {
  it('refuses a DOCTYPE, with or without entity declarations', () => {
    expect(refusal(`<!DOCTYPE domain [<!ENTITY n "gum">]><domain><name>&n;</name></domain>`)).toBe(
      'domain XML contains a DOCTYPE declaration (line 1); corral accepts no DTD or entity declarations, remove it',
    );
    expect(refusal(`<?xml version="1.0"?>\n<!DOCTYPE domain SYSTEM "domain.dtd">\n${dom('')}`)).toMatch(/DOCTYPE declaration \(line 2\)/);
    expect(refusal(dom('<!ENTITY x "y">'))).toMatch(/^domain XML contains an entity declaration/);
  });

  it('refuses references to entities that do not exist, in text and in attributes', () => {
    expect(refusal(dom('<description>&nbsp;</description>'))).toBe(
      'domain XML uses the undefined entity &nbsp; (line 1); only &amp; &lt; &gt; &quot; &apos; exist without a DOCTYPE',
    );
    expect(refusal(dom('', ' id="&foo;"'))).toMatch(/undefined entity &foo;/);
    expect(refusal(dom('<description>&#0;</description>'))).toMatch(/a character XML does not allow: &#0;/);
    expect(refusal(dom('<description>a & b</description>'))).toMatch(/a "&" that starts no reference, write it as &amp;/);
  });

  it('refuses two <name> elements of the domain, but not a <name> inside metadata', () => {
    expect(refusal('<domain><name>gum</name><uuid>0d4e1f52-1c1a-4f6c-9a55-3c1c2b0d9e11</uuid><name>elm</name></domain>')).toBe(
      'domain XML has 2 <name> elements; a domain has exactly one',
    );
    expect(DomainDoc.parse(dom('<metadata><a:x xmlns:a="urn:a"><name>other</name></a:x></metadata>')).name).toBe('gum');
  });

  it('refuses an encoding declaration other than UTF-8', () => {
    expect(refusal(`<?xml version="1.0" encoding="ISO-8859-1"?>${dom('')}`)).toBe(
      'domain XML declares encoding "ISO-8859-1"; only UTF-8 is accepted (line 1)',
    );
    expect(DomainDoc.parse(`<?xml version="1.0" encoding="UTF-8"?>\n${dom('')}`).name).toBe('gum');
  });

  it('takes what is inside comments and CDATA sections as text, not markup', () => {
    const d = DomainDoc.parse(dom('<!-- <!DOCTYPE x> &foo; --><description><![CDATA[&bar; <!ENTITY>]]></description>'));
    expect(d.root.textContent).toBe('gum&bar; <!ENTITY>');
  });

  it('reads "&amp;" followed by a character reference as text (xmlbuilder2 decoded it twice)', () => {
    const d = DomainDoc.parse(dom('<description>&amp;#65; &amp;lt; &amp;amp; &#65;&lt;</description>', ' a="&amp;#66;"'));
    expect(d.root.textContent).toBe('gum&#65; &lt; &amp; A<');
    expect(d.root.getAttribute('a')).toBe('&#66;');
  });
});

describe('DomainDoc.parse reads namespaces as text', () => {
  it.each(['&lt;devices&gt;&lt;disk/&gt;&lt;/devices&gt;', '{&quot;a&quot;:1}', '[1]', '---'])('xmlns="%s" stays an attribute of its element, nothing else', (ns) => {
    const xml = dom(`<metadata><x xmlns="${ns}"/></metadata>`);
    const d = DomainDoc.parse(xml);
    expect(d.toXml()).toBe(xml);
    expect(d.devicesOf('disk')).toEqual([]);
  });
});

describe('DomainDoc.toXml', () => {
  it('writes text and attributes that parse back to the same values', () => {
    const d = DomainDoc.parse(dom('<description>&amp;lt; &amp;foo; &amp;#65; &#13;</description>', ' a="&amp;x; line&#10;two&#9;tab"'));
    const xml = d.toXml();
    const back = DomainDoc.parse(xml);
    expect(back.root.textContent).toBe('gum&lt; &foo; &#65; \r');
    expect(back.root.getAttribute('a')).toBe('&x; line\ntwo\ttab');
    // The document itself is left as it was.
    expect(d.root.getAttribute('a')).toBe('&x; line\ntwo\ttab');
    expect(d.toXml()).toBe(xml);
  });
});

describe('UTF-8 only', () => {
  it('finds the first byte that is not UTF-8, and accepts what is', () => {
    expect(firstNonUtf8(Buffer.from('<name>gum</name>'))).toBe(-1);
    expect(firstNonUtf8(Buffer.from('<name>Grün</name>'))).toBe(-1);
    expect(firstNonUtf8(Buffer.from([0x3c, 0x61, 0xe9, 0x62]))).toBe(2); // latin1 é
    expect(firstNonUtf8(Buffer.from([0x61, 0xc3]))).toBe(1); // cut short
    expect(firstNonUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0); // a UTF-16 surrogate
    expect(firstNonUtf8(Buffer.from([0xc0, 0xaf]))).toBe(0); // overlong "/"
  });

  it('refuses bytes that are not UTF-8 instead of turning them into U+FFFD', () => {
    expect(decodeUtf8(Buffer.from('<domain><name>caf\xe9</name></domain>', 'latin1'), 'domain XML')).toEqual({
      ok: false,
      error: 'domain XML is not UTF-8 text (byte 0xE9 at offset 17); convert it to UTF-8 first',
    });
    expect(decodeUtf8(Buffer.from('\ufeff<domain/>'), 'x')).toEqual({ ok: true, text: '<domain/>' });
  });
});

describe('readInput (fixup_domxml, domadd)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'corral-input-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a file that is not UTF-8, naming the byte', async () => {
    const f = path.join(dir, 'latin1.xml');
    writeFileSync(f, Buffer.from(dom('<description>caf\xe9</description>'), 'latin1'));
    await expect(readInput(f)).rejects.toThrow(new DomainXmlError('domain XML is not UTF-8 text (byte 0xE9 at offset 52); convert it to UTF-8 first'));
  });

  it('stops reading at 1 MiB', async () => {
    const f = path.join(dir, 'big.xml');
    writeFileSync(f, '');
    truncateSync(f, 2 * 1024 * 1024);
    await expect(readInput(f)).rejects.toThrow(new DomainXmlError('domain XML is larger than 1 MiB'));
    await expect(readInput('/dev/zero')).rejects.toThrow(new DomainXmlError('domain XML is larger than 1 MiB'));
  }, 10_000);

  it('reads UTF-8 (dropping a byte order mark) and says plainly what cannot be read', async () => {
    const f = path.join(dir, 'ok.xml');
    writeFileSync(f, `\ufeff${dom('<description>Grün</description>')}`);
    expect(await readInput(f)).toBe(dom('<description>Grün</description>'));
    await expect(readInput(path.join(dir, 'nope.xml'))).rejects.toThrow(`cannot read ${dir}/nope.xml: no such file`);
    await expect(readInput(dir)).rejects.toThrow(`cannot read ${dir}: it is a directory`);
  });
});
