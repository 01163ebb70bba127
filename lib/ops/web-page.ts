// The web view's page (`corral serve`: /, /vm/NAME, /node/NAME): one HTML shell, its style sheet
// and its script, written here and bundled with corral (no framework, nothing downloaded, works
// with no internet). The script reads /api/state (lib/ops/web.ts) and then the server-sent events
// of /api/events-stream, and draws the page from them with DOM calls only: every name reaches the
// page as text (textContent, attribute values), never as markup. The shell's own few names (the
// title of a VM's or node's page) go through escapeHtml.

/** Text safe inside HTML text and double-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** The HTML of a page: the map (no KIND), or a VM's or a node's page. */
export function pageHtml(kind?: 'vm' | 'node', name?: string): string {
  const title = kind && name !== undefined ? `${kind === 'vm' ? 'VM' : 'node'} ${name} — corral` : 'corral — cluster map';
  const heading = kind && name !== undefined ? `${kind === 'vm' ? 'VM' : 'Node'} ${name}` : 'Cluster map';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/static/corral.css">
<script src="/static/corral.js" defer></script>
</head>
<body data-page="${kind ?? 'map'}">
<a class="skip" href="#app">Skip to the content</a>
<header>
<nav aria-label="views"><a href="/">corral</a> · <a href="/api/state">/api/state</a> · <a href="/metrics">/metrics</a></nav>
<h1 id="heading">${escapeHtml(heading)}</h1>
<p id="summary" aria-live="polite">Loading…</p>
</header>
<main id="app" tabindex="-1"><noscript>This page needs JavaScript; the same data is at <a href="/api/state">/api/state</a>.</noscript></main>
</body>
</html>
`;
}

export const PAGE_CSS = `
:root { color-scheme: light; --fg: #111; --muted: #444; --bg: #fafafa; --card: #fff; --line: #bbb; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { padding: .5rem 1rem; background: #1d2733; color: #fff; }
header a { color: #cfe3ff; }
header h1 { margin: .2rem 0; font-size: 1.3rem; }
#summary { margin: .2rem 0; display: flex; flex-wrap: wrap; gap: .3rem .8rem; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: 1rem; background: #fff; color: #000; padding: .3rem; z-index: 10; }
main { padding: 1rem; }
a:focus-visible, .tile:focus-visible, main:focus-visible { outline: 3px solid #ffbf00; outline-offset: 2px; }
.badge { display: inline-block; padding: 0 .4rem; border-radius: .3rem; font-weight: 600; }
.ok { background: #c8f0cf; color: #0b3d16; } .bad { background: #ffd0d0; color: #5c0000; } .unk { background: #e4e4e4; color: #222; }
.map { display: grid; grid-template-columns: repeat(auto-fit, minmax(230px, 1fr)); gap: .8rem; align-items: start; }
.node { background: var(--card); border: 1px solid var(--line); border-radius: .4rem; padding: .5rem; min-width: 0; }
.node h2 { margin: 0 0 .3rem; font-size: 1.05rem; display: flex; flex-wrap: wrap; gap: .3rem; align-items: baseline; overflow-wrap: anywhere; }
.node.off { background: #eee; border-style: dashed; }
.node.standby, .node.drained, .node.draining, .node.maintenance { background: repeating-linear-gradient(135deg, #fff, #fff 8px, #f1ecd9 8px, #f1ecd9 16px); }
.mark { font-size: .8rem; padding: 0 .35rem; border-radius: .3rem; background: #333; color: #fff; font-weight: 600; }
.mark.offline, .mark.unclean { background: #8b0000; }
.mark.standby, .mark.drained, .mark.draining, .mark.maintenance { background: #6b4e00; }
.mark.dc { background: #234d7a; }
.bar { font-size: .8rem; color: var(--muted); margin: .15rem 0; }
.bar .track { height: .45rem; background: #ddd; border-radius: .2rem; overflow: hidden; }
.bar .fill { height: 100%; background: #3d6fb6; }
.bar .fill.over { background: #b00020; }
.tiles { display: flex; flex-wrap: wrap; gap: .3rem; margin: .4rem 0; }
.tile { display: flex; flex-direction: column; justify-content: center; min-height: 2.4rem; padding: .2rem .35rem; border-radius: .3rem; border: 1px solid rgba(0,0,0,.35); color: #111; text-decoration: none; font-size: .8rem; overflow-wrap: anywhere; flex-grow: 0; max-width: 100%; }
.tile b { font-size: .85rem; }
.tile.running { background: #a8dcae; } .tile.stopped { background: #d9d9d9; } .tile.disabled { background: #f0f0f0; border-style: dashed; }
.tile.failed, .tile.unknown { background: #f4a3a3; color: #3a0000; } .tile.migrating { background: #9cc8f5; color: #0a2540; border-width: 2px; border-style: dashed; }
.tile.starting, .tile.stopping { background: #ffe08a; }
.tile.ghost { opacity: .85; border-style: dotted; background: #e3f0fd; }
.ifFails { font-size: .8rem; margin: .3rem 0 0; }
section.panel { margin-top: 1.2rem; background: var(--card); border: 1px solid var(--line); border-radius: .4rem; padding: .5rem .8rem; }
section.panel h2 { margin: .2rem 0 .4rem; font-size: 1.05rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
td, th { text-align: left; padding: .15rem .4rem; border-bottom: 1px solid #ddd; vertical-align: top; overflow-wrap: anywhere; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem .8rem; margin: 0; }
dt { font-weight: 600; } dd { margin: 0; overflow-wrap: anywhere; }
.stale { color: #8b0000; font-weight: 600; }
@media (max-width: 600px) { main { padding: .5rem; } .map { grid-template-columns: 1fr; } }
`;

export const PAGE_JS = String.raw`
'use strict';
(() => {
  const page = document.body.dataset.page;
  const seg = location.pathname.split('/');
  const name = page === 'map' ? null : decodeURIComponent(seg.slice(2).join('/'));
  const app = document.getElementById('app');
  const summary = document.getElementById('summary');
  let state = null;

  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'style') Object.assign(e.style, v);
      else if (k.startsWith('data-')) e.dataset[k.slice(5).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of kids.flat(Infinity)) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }
  const vmHref = (n) => '/vm/' + encodeURIComponent(n);
  const nodeHref = (n) => '/node/' + encodeURIComponent(n);
  const mib = (m) => m === null || m === undefined ? '?' : m >= 1024 ? (m / 1024).toFixed(m % 1024 ? 1 : 0) + ' GiB' : m + ' MiB';
  const when = (sec) => sec ? new Date(sec * 1000).toLocaleString() : '';
  const badge = (ok, yes, no, unk) => h('span', { class: 'badge ' + (ok === true ? 'ok' : ok === false ? 'bad' : 'unk') }, ok === true ? yes : ok === false ? no : unk);

  function bar(label, used, cap, fmt) {
    const pct = cap ? Math.min(100, (used / cap) * 100) : 0;
    return h('div', { class: 'bar' }, label + ' ' + fmt(used) + ' / ' + (cap === null ? 'no capacity set' : fmt(cap)),
      h('div', { class: 'track', role: 'img', 'aria-label': label + ' ' + Math.round(pct) + '% allocated' }, h('div', { class: 'fill' + (cap !== null && used > cap ? ' over' : ''), style: { width: pct + '%' } })));
  }

  // Tiles are sized against the largest node's memory (else the largest VM's): a VM's tile area
  // grows with its share of a node.
  const scale = (s) => Math.max(1, ...s.nodes.map((n) => n.memoryMiB || 0), ...s.vms.map((v) => v.memoryMiB || 0));

  function tile(vm, maxMem, ghostFrom) {
    const mem = vm.memoryMiB || 0;
    const basis = Math.round(64 + 200 * Math.sqrt(mem / maxMem));
    const label = ghostFrom ? '← ' + ghostFrom : vm.state === 'migrating' && vm.migratingTo ? 'migrating → ' + vm.migratingTo : vm.state;
    return h('a', {
      class: 'tile ' + vm.state + (ghostFrom ? ' ghost' : ''),
      href: vmHref(vm.name),
      'data-vm': ghostFrom ? null : vm.name,
      'data-ghost': ghostFrom ? vm.name : null,
      title: vm.name + ': ' + label + ', ' + mib(vm.memoryMiB) + ', ' + (vm.vcpus ?? '?') + ' vCPU',
      style: { flexBasis: basis + 'px', minHeight: (2.4 + 3 * Math.sqrt(mem / maxMem)).toFixed(2) + 'rem' },
    }, h('b', {}, vm.name), h('span', {}, label + ' · ' + mib(vm.memoryMiB)));
  }

  function drawSummary(s) {
    summary.replaceChildren();
    const c = s.cluster;
    const age = Math.round((Date.now() - s.at) / 1000);
    if (s.error) summary.append(h('span', { class: 'badge bad' }, 'cannot read the cluster: ' + s.error));
    if (c) {
      summary.append(h('span', {}, 'Quorum ', badge(c.quorum, 'yes', 'no')));
      summary.append(h('span', {}, 'DC ' + (c.dc ?? 'none')));
      if (c.maintenanceMode) summary.append(h('span', { class: 'badge bad' }, 'maintenance-mode'));
      if (c.maintenance.draining.length) summary.append(h('span', { class: 'badge unk' }, 'draining: ' + c.maintenance.draining.join(', ')));
      if (c.maintenance.rolling) summary.append(h('span', { class: 'badge unk' }, 'rolling reboot under way'));
    }
    const cap = s.capacity;
    summary.append(h('span', {}, 'N+1 ', cap ? badge(cap.nPlusOne, 'yes', 'no', cap.error ? 'unknown' : 'Pacemaker could not say') : badge(null, '', '', 'not computed yet')));
    const b = s.balancer;
    summary.append(h('span', {}, 'Balancer ', b.configured ? badge(b.runningOn !== null ? true : b.enabled ? false : null, 'running on ' + b.runningOn, 'not running', 'disabled') : badge(null, '', '', 'not configured')));
    summary.append(h('span', { id: 'updated', 'data-version': s.version }, 'CIB ' + s.version + (age > 2 ? ', unchanged for ' + age + ' s' : '')));
  }

  function mapPage(s) {
    const byName = new Map(s.vms.map((v) => [v.name, v]));
    const maxMem = scale(s);
    const cols = s.nodes.map((n) => {
      const vms = n.vms.map((x) => byName.get(x)).filter(Boolean);
      const incoming = s.vms.filter((v) => v.migratingTo === n.name);
      const off = n.state === 'offline' || n.state === 'unclean' || n.state === 'pending';
      const ff = n.ifFails;
      return h('section', { class: 'node ' + n.state + (off ? ' off' : ''), 'data-node': n.name, 'aria-label': 'node ' + n.name },
        h('h2', {}, h('a', { href: nodeHref(n.name) }, n.name), n.state !== 'online' ? h('span', { class: 'mark ' + n.state }, n.state) : null, n.dc ? h('span', { class: 'mark dc' }, 'DC') : null),
        bar('CPU', n.allocCpus, n.cpus, (x) => String(x)),
        bar('Memory', n.allocMemoryMiB, n.memoryMiB, mib),
        h('div', { class: 'tiles' }, vms.map((v) => tile(v, maxMem)), incoming.map((v) => tile(v, maxMem, v.node))),
        off ? null : h('p', { class: 'ifFails' }, ff === null ? 'If this node fails: not known yet' : ff.errors ? 'If this node fails: Pacemaker could not say' : ff.stopped.length ? ['If this node fails, these stop: ', ff.stopped.map((x, i) => [i ? ', ' : '', h('a', { href: vmHref(x) }, x)])] : 'If this node fails: every VM runs elsewhere'));
    });
    const nowhere = s.vms.filter((v) => v.nodes.length === 0);
    const out = [h('div', { class: 'map', id: 'map' }, cols)];
    out.push(h('section', { class: 'panel', 'data-node': '', 'aria-label': 'VMs running nowhere' }, h('h2', {}, 'Not running (' + nowhere.length + ')'), h('div', { class: 'tiles' }, nowhere.map((v) => tile(v, maxMem)))));
    out.push(balancerPanel(s));
    out.push(eventsPanel(s.events, null));
    return out;
  }

  function balancerPanel(s) {
    const b = s.balancer;
    const p = h('section', { class: 'panel', id: 'balancer' }, h('h2', {}, 'Balancer'));
    if (!b.configured) { p.append(h('p', {}, 'Not configured (corral balance enable).')); return p; }
    p.append(h('p', {}, b.runningOn ? 'Running on ' + b.runningOn + '.' : b.enabled ? 'Enabled but not running.' : 'Disabled.',
      s.cluster && s.cluster.rebalanceScore !== null ? ' Rebalance score ' + s.cluster.rebalanceScore.toFixed(2) + ' (0 is even).' : ''));
    if (b.decisions) p.append(h('p', {}, 'Last decision: ' + b.decisions.last.kind + ' — ' + b.decisions.last.reason + ' (' + when(b.decisions.last.at) + '); since ' + when(b.decisions.since) + ': ' + Object.entries(b.decisions.counts).filter(([, n]) => n).map(([k, n]) => k + ' ' + n).join(', ')));
    if (b.moves.length) p.append(h('table', {}, h('caption', {}, 'Moves in the last day'), h('tr', {}, h('th', {}, 'when'), h('th', {}, 'VM'), h('th', {}, 'from'), h('th', {}, 'to')),
      b.moves.slice().reverse().map((m) => h('tr', {}, h('td', {}, when(m.at)), h('td', {}, h('a', { href: vmHref(m.vm) }, m.vm)), h('td', {}, m.from), h('td', {}, m.to)))));
    return p;
  }

  function eventsPanel(events, vm) {
    const p = h('section', { class: 'panel', id: 'events' }, h('h2', {}, vm ? 'Events' : 'Recent events'));
    if (events === null) { p.append(h('p', {}, 'Events are not read by this server.')); return p; }
    // Newest first: the sources (scheduler inputs, the live CIB, fencing, audit logs) report in their own order.
    const list = (vm ? events.filter((e) => e.vm === vm || (e.vms || []).includes(vm)) : events).slice().sort((a, b) => Date.parse(b.at) - Date.parse(a.at)).slice(0, 50);
    if (!list.length) { p.append(h('p', {}, 'None recorded.')); return p; }
    p.append(h('table', {}, h('tr', {}, h('th', {}, 'when'), h('th', {}, 'what')), list.map((e) => h('tr', {}, h('td', {}, new Date(e.at).toLocaleString()), h('td', {}, e.text)))));
    return p;
  }

  function constraintText(c) {
    const parts = [c.kind];
    if (c.nodes) parts.push(c.nodes.join(', '));
    if (c.other) parts.push(c.other);
    if (c.tag) parts.push('tag ' + c.tag);
    if (c.score) parts.push('score ' + c.score);
    if (c.ordering) parts.push(c.ordering);
    if (c.until) parts.push('until ' + c.until);
    return parts.join(' · ') + ' (' + c.id + ')';
  }

  function dl(rows) {
    return h('dl', {}, rows.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  }

  function vmPage(s) {
    const v = s.vms.find((x) => x.name === name);
    if (!v) return [h('p', {}, 'No VM of this name in the cluster now.'), h('a', { href: '/' }, 'Back to the map')];
    const stopIf = s.nodes.filter((n) => n.ifFails && n.ifFails.stopped.includes(v.name)).map((n) => n.name);
    return [
      h('section', { class: 'panel', id: 'vm', 'data-vm-page': v.name }, h('h2', {}, 'Where it runs'), dl([
        ['State', h('span', { class: 'tile ' + v.state, style: { display: 'inline-block', minHeight: '0' } }, v.state)],
        ['Node', v.node ? h('a', { href: nodeHref(v.node) }, v.node) : 'none'],
        v.migratingTo ? ['Migrating to', h('a', { href: nodeHref(v.migratingTo) }, v.migratingTo)] : null,
        v.nodes.length > 1 ? ['Active on', v.nodes.join(', ')] : null,
        ['Size', (v.vcpus ?? '?') + ' vCPU, ' + mib(v.memoryMiB)],
        ['Priority', String(v.priority)],
        ['Tags', v.tags.length ? v.tags.join(', ') : 'none'],
        ['target-role', v.targetRole ?? 'not set'],
        ['Managed', v.managed ? 'yes' : 'no (Pacemaker leaves it alone)'],
        ['Stops if these fail', stopIf.length ? stopIf.join(', ') : s.capacity ? 'no single node' : 'not known yet'],
        Object.keys(v.failCounts).length ? ['Fail counts', Object.entries(v.failCounts).map(([n, c]) => n + ': ' + c).join(', ')] : null,
        v.lastFailure ? ['Last failure', v.lastFailure.operation + ' on ' + v.lastFailure.node + ' (rc ' + v.lastFailure.rc + ')' + (v.lastFailure.reason ? ': ' + v.lastFailure.reason : '') + (v.lastFailure.at ? ', ' + when(v.lastFailure.at) : '')] : null,
      ])),
      h('section', { class: 'panel' }, h('h2', {}, 'Why: its constraints'), v.constraints.length ? h('ul', {}, v.constraints.map((c) => h('li', {}, constraintText(c)))) : h('p', {}, 'None: Pacemaker places it where there is room.')),
      eventsPanel(s.events, v.name),
    ];
  }

  function nodePage(s) {
    const n = s.nodes.find((x) => x.name === name);
    if (!n) return [h('p', {}, 'No node of this name in the cluster now.'), h('a', { href: '/' }, 'Back to the map')];
    const byName = new Map(s.vms.map((v) => [v.name, v]));
    const maxMem = scale(s);
    return [
      h('section', { class: 'panel node ' + n.state, 'data-node': n.name }, h('h2', {}, n.name, ' ', h('span', { class: 'mark ' + n.state }, n.state), n.dc ? h('span', { class: 'mark dc' }, 'DC') : null),
        bar('CPU', n.allocCpus, n.cpus, (x) => String(x)), bar('Memory', n.allocMemoryMiB, n.memoryMiB, mib),
        h('div', { class: 'tiles' }, n.vms.map((x) => byName.get(x)).filter(Boolean).map((v) => tile(v, maxMem))),
        dl([
          ['If it fails, these stop', n.ifFails === null ? 'not known yet' : n.ifFails.errors ? 'Pacemaker could not say: ' + n.ifFails.errors.join('; ') : n.ifFails.stopped.join(', ') || 'none'],
          n.owedVms.length ? ['Owed (undrain --return)', n.owedVms.join(', ')] : null,
        ])),
      eventsPanel(s.events ? s.events.filter((e) => e.node === n.name || e.from === n.name || e.to === n.name || (e.node || '').split(',').includes(n.name)) : null, null),
    ];
  }

  function draw(s) {
    state = s;
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.vm : undefined;
    const t0 = performance.now();
    drawSummary(s);
    app.replaceChildren(...(page === 'vm' ? vmPage(s) : page === 'node' ? nodePage(s) : mapPage(s)));
    if (focused) {
      const again = [...app.querySelectorAll('[data-vm]')].find((e) => e.dataset.vm === focused);
      if (again) again.focus();
    }
    document.body.dataset.version = s.version;
    // What the bench and the browser test read: the last drawing's scripting time, and when the
    // first one ended (ms since the navigation started).
    window.corralRenderMs = performance.now() - t0;
    if (window.corralFirstDrawAt === undefined) window.corralFirstDrawAt = performance.now();
  }

  fetch('/api/state', { credentials: 'same-origin' }).then((r) => r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status))).then((s) => { if (!state) draw(s); }, (e) => { summary.textContent = 'Cannot load /api/state: ' + e.message; });
  const es = new EventSource('/api/events-stream');
  es.addEventListener('state', (m) => {
    const t0 = performance.now();
    draw(JSON.parse(m.data));
    window.corralUpdateMs = performance.now() - t0;
  });
  es.onerror = () => { if (state) { const u = document.getElementById('updated'); if (u) u.className = 'stale'; } };
  setInterval(() => { if (state) drawSummary(state); }, 5000);
})();
`;
