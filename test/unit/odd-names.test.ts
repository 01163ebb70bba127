// Odd node names (issue 17, item 7): the ids corral derives from names are always valid XML IDs
// for Pacemaker, unique and stable; tables and message lines show control and bidi characters
// escaped, never as they are.
import { describe, expect, it } from 'vitest';
import { ids } from '../../lib/cib/shapes.js';
import { printable, printableLines, renderTable } from '../../lib/cluster/format.js';
import { xmlId } from '../../lib/domain/names.js';

/** An XML NCName in ASCII, as corral writes ids (Pacemaker's schema: data type ID). */
const NCNAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

const ODD = ['-S', 'n3;touch x', 'n3 touch x', 'n3_touch_x', 'n\u202eevil', 'n\u202devil', '1node', '.hidden', 'nœud', 'a\u0000b', 'a\nb', '😀', '', 'vm-a'];

describe('xmlId: the one way an id is made from names', () => {
  it('keeps an id that is already valid as it is (ids written before stay the same)', () => {
    expect(xmlId('corral-steer', 'vm-a', 'n2')).toBe('corral-steer-vm-a-n2');
    expect(ids.steer('vm-a', 'n2')).toBe('corral-steer-vm-a-n2');
    expect(ids.pin('vm-web1')).toBe('vm-web1-pin');
    expect(ids.nvpair('nodes-1', 'standby')).toBe('nodes-1-standby');
    expect(ids.returnHint('vm-a')).toBe('corral-return-vm-a');
  });

  it('is a valid NCName for any node name', () => {
    for (const n of ODD) {
      for (const id of [xmlId(n), ids.steer('vm-a', n), ids.notNode('vm-a-only-on', n), ids.nodeAttributes(n), ids.nodeUtilization(n), ids.nvpair(ids.nodeAttributes(n), 'standby')]) {
        expect(id, JSON.stringify(n)).toMatch(NCNAME);
      }
    }
  });

  it('gives different names different ids, also when they sanitise to the same text', () => {
    const steer = ODD.map((n) => ids.steer('vm-a', n));
    expect(new Set(steer).size).toBe(ODD.length);
    const alone = ODD.map((n) => xmlId(n));
    expect(new Set(alone).size).toBe(ODD.length);
    // "n3;touch x" and "n3 touch x" both read n3_touch_x once sanitised, and n3_touch_x is valid.
    expect(ids.steer('vm-a', 'n3_touch_x')).toBe('corral-steer-vm-a-n3_touch_x');
    expect(ids.steer('vm-a', 'n3;touch x')).toMatch(/^corral-steer-vm-a-n3_touch_x-[0-9a-f]{8}$/);
    expect(ids.steer('vm-a', 'n3;touch x')).not.toBe(ids.steer('vm-a', 'n3 touch x'));
  });

  it('is stable: the same names give the same id in every run (FNV-1a of the UTF-8 text)', () => {
    expect(xmlId('corral-steer', 'vm-a', 'n\u202eevil')).toBe('corral-steer-vm-a-n_evil-bf82ffad');
    expect(xmlId('-S')).toBe('_-S-76cda471');
    expect(xmlId('corral-steer', 'vm-a', 'n\u202eevil')).toBe(xmlId('corral-steer', 'vm-a', 'n\u202eevil'));
  });
});

describe('printable: control and bidi characters escaped in tables and message lines', () => {
  it('escapes C0, DEL, C1, bidi marks, overrides and isolates, other format characters', () => {
    expect(printable('n\u202eevil')).toBe('n\\u202eevil');
    expect(printable('a\u001b[2Jb')).toBe('a\\u001b[2Jb');
    expect(printable('a\tb\nc\rd')).toBe('a\\u0009b\\u000ac\\u000dd');
    expect(printable('\u007f\u0085\u009b')).toBe('\\u007f\\u0085\\u009b');
    expect(printable('\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u061c')).toBe(
      '\\u200e\\u200f\\u202a\\u202b\\u202c\\u202d\\u2066\\u2067\\u2068\\u2069\\u061c',
    );
    expect(printable('zero\u200bwidth\ufeff')).toBe('zero\\u200bwidth\\ufeff');
    expect(printable('tag\u{e0001}')).toBe('tag\\u{e0001}');
    expect(printable('line\u2028sep')).toBe('line\\u2028sep');
  });

  it('leaves ordinary text alone, letters of any script included', () => {
    for (const s of ['n1', 'n3;touch x', '-S', 'nœud', 'узел', '節點', 'web-😀', 'a → b', 'back\\slash']) expect(printable(s)).toBe(s);
  });

  it('printableLines keeps the line ends of a message of several lines', () => {
    expect(printableLines('one \u202e\ntwo')).toBe('one \\u202e\ntwo');
  });

  it('renderTable shows every cell escaped, one line per row, columns aligned on what is shown', () => {
    const t = renderTable([{ header: 'HOST', value: (r: { n: string }) => r.n }, { header: 'X', value: () => 'x' }], [{ n: 'n\u202eevil' }, { n: 'a\nb' }, { n: 'n1' }]);
    expect(t).not.toMatch(/[\u202e]/);
    expect(t.split('\n')).toEqual(['HOST         X', 'n\\u202eevil  x', 'a\\u000ab     x', 'n1           x', '']);
  });
});
