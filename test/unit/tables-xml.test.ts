import { describe, expect, it } from 'vitest';
import { decodeEntities, readXml, XmlError } from '../../lib/xml/read.js';

describe('the fast XML reader', () => {
  it('reads elements, attributes in either quote, entities, character references, CDATA', () => {
    const root = readXml(`<?xml version="1.0"?>\n<!-- c --><a x="1 &amp; 2" y='&lt;b&gt;&#10;&#x41;'>\n  <b/>t&quot;<c z = "q">&apos;<![CDATA[<raw>]]></c></a>\n`);
    expect(root.tag).toBe('a');
    expect(root.attrs).toEqual({ x: '1 & 2', y: '<b>\nA' });
    expect(root.children.map((c) => c.tag)).toEqual(['b', 'c']);
    expect(root.text.trim()).toBe('t"');
    expect(root.children[1]?.attrs).toEqual({ z: 'q' });
    expect(root.children[1]?.text).toBe("'<raw>");
  });

  it('decodes &amp;lt; to the text &lt;, not to <', () => {
    expect(decodeEntities('&amp;lt;')).toBe('&lt;');
  });

  it.each([
    ['<a><b></a>', /does not close/],
    ['<a>', /never closed/],
    ['<a/><b/>', /second root/],
    ['text<a/>', /outside the root/],
    ['<a x=1/>', /starts no element/],
    ['<a x="1" x="2"/>', /twice/],
    ['<a>&nbsp;</a>', /^XML uses the undefined entity &nbsp; \(line 1\)/],
    ['<a>\nAT&T</a>', /^XML is not well-formed \(line 2\): a "&" that starts no reference/],
    ['<a b="&#1;"/>', /^XML refers to a character XML does not allow: &#1; \(line 1\)/],
    ['<a>&#xD800;</a>', /a character XML does not allow: &#xD800;/],
    ['<!DOCTYPE a [<!ENTITY e "boom">]><a>&e;</a>', /^XML contains a DOCTYPE declaration \(line 1\)/],
    ['<?xml version="1.0" encoding="ISO-8859-1"?><a/>', /^XML declares encoding "ISO-8859-1"; only UTF-8 is accepted/],
    ['<a><!-- open </a>', /unclosed comment/],
    ['', /no root element/],
  ])('refuses %j', (xml, why) => {
    expect(() => readXml(xml)).toThrow(XmlError);
    expect(() => readXml(xml)).toThrow(why);
  });
});
