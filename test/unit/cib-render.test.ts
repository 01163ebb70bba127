import { describe, expect, it } from 'vitest';
import { parseXNode } from '../../lib/cib/model.js';
import { Fragment, TemplateError, fragments, placeholders, render } from '../../lib/cib/render.js';
import { CibDoc } from '../../lib/cib/edit.js';
import { readDocument } from '../../lib/xml/read.js';
import { escapeAttr, escapeText, parseDom, serialize } from '../../lib/xml/dom.js';

const HOSTILE = [
  '" onload="x',
  "' single",
  '<evil/>',
  '&amp; &lt; &#10;',
  ']]> <![CDATA[',
  'line1\nline2\r\n\ttab',
  '$(reboot); `id` | rm -rf /',
  '{{other}}',
  'ünïcödé ✓',
];

describe('render', () => {
  it.each(HOSTILE)('escapes %j so it comes back unchanged from an attribute and from text', (v) => {
    const f = render('<a v="{{v}}">{{v}}</a>', { v });
    const a = parseXNode(f.xml);
    expect(a.attrs.v).toBe(v);
    expect(a.text).toBe(v);
    expect(a.children).toEqual([]); // no markup got in
  });

  it('inserts numbers as they are and fragments as markup', () => {
    const inner = render('<b x="{{x}}"/>', { x: '<' });
    const f = render('<a n="{{n}}">{{inner}}</a>', { n: 42, inner });
    expect(f.xml).toBe('<a n="42"><b x="&lt;"/></a>');
    expect(fragments([inner, inner]).xml).toBe('<b x="&lt;"/><b x="&lt;"/>');
  });

  it('refuses a missing value, an unused value, a non-finite number and a control character', () => {
    expect(() => render('<a v="{{v}}"/>', {})).toThrow(TemplateError);
    expect(() => render('<a/>', { v: 'x' })).toThrow(/not used/);
    expect(() => render('<a v="{{v}}"/>', { v: Number.NaN })).toThrow(/finite/);
    expect(() => render('<a v="{{v}}"/>', { v: 'bell\u0007' })).toThrow(/U\+0007/);
  });

  it('does not treat a value that looks like a placeholder as one', () => {
    expect(render('<a v="{{v}}" w="{{w}}"/>', { v: '{{w}}', w: 'x' }).xml).toBe('<a v="{{w}}" w="x"/>');
  });

  it('lists the placeholders of a template', () => {
    expect(placeholders('<a x="{{one}}" y="{{ two }}">{{one}}</a>')).toEqual(['one', 'two']);
  });

  it('only lets Fragments through unescaped (a look-alike object is refused)', () => {
    const fake = { xml: '<evil/>' } as unknown as Fragment;
    expect(() => render('<a>{{f}}</a>', { f: fake })).toThrow(TemplateError);
  });
});

describe('xml', () => {
  it('escapes newlines, tabs and carriage returns in attributes as character references', () => {
    expect(escapeAttr('a\nb\tc\rd"&<>')).toBe('a&#10;b&#9;c&#13;d&quot;&amp;&lt;&gt;');
    expect(escapeText('a\nb\r<&>')).toBe('a\nb&#13;&lt;&amp;&gt;');
  });

  it('serializes a DOM so that parsing it again gives the same values', () => {
    const doc = parseDom('<a v="x&#10;y&#9;z"><!--c--><b>t&amp;u</b><![CDATA[<raw>]]></a>');
    const text = serialize(doc);
    expect(text).toBe('<a v="x&#10;y&#9;z"><!--c--><b>t&amp;u</b><![CDATA[<raw>]]></a>');
    expect(serialize(parseDom(text))).toBe(text);
  });

  it('decodes a CIB once: a stored character reference stays a reference, a literal "&amp;#xE9;" stays that text', () => {
    // A domain XML in the CIB holds "Caf&#xE9;" (ASCII storage), which the CIB writes "Caf&amp;#xE9;".
    const cib = '<cib><configuration><resources><primitive id="vm-gum"><instance_attributes id="ia">' +
      '<nvpair id="ia-config" name="config" value="&lt;description&gt;Caf&amp;#xE9; &amp;amp;#xE9; &#xE9;&lt;/description&gt;"/>' +
      '</instance_attributes></primitive></resources></configuration></cib>';
    const cd = CibDoc.parse(cib);
    expect(cd.byId('ia-config')?.getAttribute('value')).toBe('<description>Caf&#xE9; &amp;#xE9; é</description>');
    expect(cd.toXml()).toBe(cib.replace('&#xE9;&lt;', 'é&lt;'));
    expect(parseDom('<d>Caf&amp;#xE9; &#xE9;<!-- &amp;#xE9; --></d>').documentElement.textContent).toBe('Caf&#xE9; é');
  });

  it('keeps comments, CDATA, processing instructions and mixed content in document order, and what is around the root', () => {
    const xml = '<!-- before --><?app x="1"?><a><b>one</b> two <!-- three --><![CDATA[<four>]]><?five six?><c/></a><!-- after -->';
    expect(serialize(parseDom(xml))).toBe(xml);
    expect(readDocument(xml).content.map((c) => ('tag' in c ? c.tag : c.kind))).toEqual(['comment', 'pi', 'a', 'comment']);
    expect(readDocument(xml).root.content.map((c) => ('tag' in c ? c.tag : `${c.kind} ${c.data}`))).toEqual(['b', 'text  two ', 'comment  three ', 'cdata <four>', 'pi six', 'c']);
  });

  it('builds elements and attributes in the namespaces their prefixes are bound to', () => {
    const d = parseDom('<domain xmlns:q="urn:q"><q:arg v="1"/><m:x xmlns:m="urn:m" m:y="2"><z xmlns="urn:z"/></m:x></domain>');
    const [arg, x] = Array.from(d.documentElement.children);
    expect([arg?.namespaceURI, x?.namespaceURI, x?.getAttributeNodeNS('urn:m', 'y')?.value, x?.firstElementChild?.namespaceURI]).toEqual(['urn:q', 'urn:m', '2', 'urn:z']);
  });

  it('indents element-only content and leaves text content exactly as it is', () => {
    const doc = parseDom('<a><b><c/></b><d> x </d></a>');
    expect(serialize(doc, { indent: '  ' })).toBe('<a>\n  <b>\n    <c/>\n  </b>\n  <d> x </d>\n</a>');
  });
});
