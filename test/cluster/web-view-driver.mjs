// Drives Debian's chromium (puppeteer-core) inside a lab node for test/cluster/metrics.test.ts:
// opens URL once and, until killed, writes OUT (JSON: each VM tile's column and state, each
// node's state, whether the page is still the one first loaded) and a screenshot of the page
// (web-view-lab-latest.png in OUT's directory) every half second.
// Usage: node web-view-driver.mjs URL OUT
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const [url, out] = process.argv.slice(2);
const browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'], timeout: 60_000, protocolTimeout: 60_000 });
const stop = () => void browser.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
const page = await browser.newPage();
await page.setViewport({ width: 1280, height: 800 });
await page.goto(url, { waitUntil: 'domcontentloaded' });
await page.evaluate(() => {
  window.firstLoad = true;
});
for (;;) {
  const seen = await page.evaluate(() => {
    const vms = {};
    for (const t of document.querySelectorAll('a.tile[data-vm]')) vms[t.dataset.vm] = `${t.closest('[data-node]')?.dataset.node ?? '?'}:${[...t.classList].find((c) => c !== 'tile')}`;
    const nodes = {};
    for (const s of document.querySelectorAll('section.node[data-node]')) nodes[s.dataset.node] = [...s.classList].find((c) => c !== 'node');
    return { vms, nodes, firstLoad: window.firstLoad === true, version: document.body.dataset.version ?? '' };
  });
  await writeFile(`${out}.new`, JSON.stringify({ ...seen, at: Date.now() }));
  await rename(`${out}.new`, out);
  const png = path.join(path.dirname(out), 'web-view-lab-latest.png');
  await writeFile(`${png}.new`, await page.screenshot());
  await rename(`${png}.new`, png);
  await new Promise((r) => setTimeout(r, 500));
}
