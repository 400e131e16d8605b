/**
 * The dashboard's loading and charts in a real browser (see test/e2e/dashboard.test.ts for
 * the harness): pages of an area loaded on demand as a chunk of their own, the message when
 * such a chunk is gone, the Nodes page's fleet chart (one series per node, the metric
 * select, no legend beyond eight series), and the charts' axes on a narrow chart (time
 * labels that do not overlap) and for an all-zero series (y labels that differ).
 *
 * Nothing here is timed: the figures of docs/performance.md come from bench/dashboard.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HTTPRequest, Page } from 'puppeteer-core';
import { TEST_ADMIN_PASSWORD } from '../support/app.ts';
import { expectHeading, logIn, useBrowserApp, WAIT } from '../support/browser.ts';

const app = useBrowserApp();

/** System rows for a node: `count` rows `stepMs` apart up to `end`, the fields given (constants). */
async function ingest(nodeId: string, count: number, stepMs: number, fields: Record<string, number>, end = Date.now()): Promise<void> {
  const data = Array.from({ length: count }, (_, i) => ({ nodeId, timestamp: new Date(end - (count - 1 - i) * stepMs).toISOString(), ...fields }));
  const res = await app.apiCall('POST', '/api/v1/metrics', app.adminAuth, { type: 'system', data });
  assert.equal(res.status, 200, JSON.stringify(res.json));
}

/** Names of the /assets/ files the page has requested so far (collected from `page.on('request')`). */
function assetLog(page: Page): string[] {
  const seen: string[] = [];
  page.on('request', (r) => {
    const m = /\/assets\/([^/?]+)$/.exec(r.url());
    if (m) seen.push(m[1]!);
  });
  return seen;
}

test('a mail page opened directly loads its chunk; from the overview the chunk is fetched only when navigating there', async () => {
  const direct = await app.openPage('/mail');
  try {
    await logIn(direct.page, 'admin', TEST_ADMIN_PASSWORD);
    await expectHeading(direct.page, 'Mail delivery');
    assert.deepEqual(direct.problems, []);
  } finally {
    await direct.page.close();
  }

  const page = await app.browser.newPage();
  page.setDefaultTimeout(WAIT);
  await page.setViewport({ width: 1280, height: 800 });
  const assets = assetLog(page);
  try {
    await page.goto(`${app.base}/`, { waitUntil: 'domcontentloaded' });
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await expectHeading(page, 'Overview');
    assert.ok(assets.some((a) => /^main-\w+\.js$/.test(a)), assets.join(' '));
    assert.deepEqual(assets.filter((a) => /^(mail|ops|lab|agents)-/.test(a)), [], 'no area chunk before its page is opened');
    await page.click('nav.sidebar a[href^="/mail"]');
    await page.waitForFunction(() => document.querySelector('main h1')?.textContent === 'Mail delivery', { timeout: WAIT });
    assert.equal(assets.filter((a) => /^mail-\w+\.js$/.test(a)).length, 1, assets.join(' '));
    assert.deepEqual(assets.filter((a) => /^(ops|lab|agents)-/.test(a)), [], 'only the mail chunk');
    // Another mail page: the chunk is already here, nothing more is fetched for it.
    await page.click('nav.mail-nav a[href^="/mail/destinations"], a[href^="/mail/destinations"]');
    await page.waitForFunction(() => document.querySelector('main h1')?.textContent === 'Destinations', { timeout: WAIT });
    assert.equal(assets.filter((a) => /^mail-\w+\.js$/.test(a)).length, 1, assets.join(' '));
  } finally {
    await page.close();
  }
});

test('a chunk that cannot be fetched (an old tab after a restart) says Opsdeck was updated and reloads into the page', async () => {
  const page = await app.browser.newPage();
  page.setDefaultTimeout(WAIT);
  await page.setViewport({ width: 1280, height: 800 });
  await page.setRequestInterception(true);
  let refuse = true;
  const refused: string[] = [];
  const onRequest = (r: HTTPRequest) => {
    if (refuse && /\/assets\/mail-\w+\.js$/.test(r.url())) {
      refused.push(r.url());
      void r.respond({ status: 404, contentType: 'application/problem+json', body: '{"code":"NOT_FOUND"}' });
    } else void r.continue();
  };
  page.on('request', onRequest);
  try {
    await page.goto(`${app.base}/mail`, { waitUntil: 'domcontentloaded' });
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await page.waitForSelector('main [role=alert]');
    const text = await page.$eval('main [role=alert]', (e) => e.textContent ?? '');
    assert.match(text, /Opsdeck was updated — reload/);
    assert.equal(refused.length, 1);
    // The shell still works around it.
    assert.ok(await page.$('nav.sidebar a[href="/nodes"]'));
    refuse = false;
    await page.click('main [role=alert] button[data-action=reload]');
    await expectHeading(page, 'Mail delivery');
  } finally {
    await page.close();
  }
});

test('the fleet chart draws one series per node of the filtered list and follows the metric select', async () => {
  // Three nodes with distinct CPU and RAM levels, an hour of rows a minute apart; a fourth outside the filter.
  for (const [i, id] of ['e2e-fleet-a', 'e2e-fleet-b', 'e2e-fleet-c', 'e2e-other-fleet'].entries()) await ingest(id, 30, 60_000, { cpuPercent: 10 + i * 20, ramPercent: 55 + i, load1m: 0.5 });
  const { page, problems } = await app.openPage('/nodes?q=e2e-fleet-&range=1h&tz=utc');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await page.waitForSelector('figure[data-chart="Fleet CPU"] canvas');
    assert.equal(await page.$eval('figure[data-chart="Fleet CPU"]', (f) => f.getAttribute('data-series')), '3');
    assert.equal(await page.$eval('figure[data-chart="Fleet CPU"]', (f) => f.getAttribute('data-points')), '90');
    const legend = await page.$$eval('figure[data-chart="Fleet CPU"] .u-legend .u-series .u-label', (ls) => ls.map((l) => l.textContent));
    assert.deepEqual(legend.slice(1), ['e2e-fleet-a', 'e2e-fleet-b', 'e2e-fleet-c']);
    // Hovering the chart shows each node's value at the cursor in the legend (CPU 10, 30, 50 %).
    const over = (await page.$('figure[data-chart="Fleet CPU"] .u-over'))!;
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width - 5, box.y + box.height / 2);
    await page.waitForFunction(() => [...document.querySelectorAll('figure[data-chart="Fleet CPU"] .u-legend .u-series .u-value')].slice(1).every((v) => /%/.test(v.textContent ?? '')), { timeout: WAIT });
    const values = await page.$$eval('figure[data-chart="Fleet CPU"] .u-legend .u-series .u-value', (vs) => vs.slice(1).map((v) => v.textContent));
    assert.deepEqual(values, ['10.0 %', '30.0 %', '50.0 %']);
    await page.select('select[aria-label="Fleet metric"]', 'ramPercent');
    await page.waitForFunction(() => new URLSearchParams(window.location.search).get('metric') === 'ramPercent');
    await page.waitForSelector('figure[data-chart="Fleet RAM"] canvas');
    assert.equal(await page.$('figure[data-chart="Fleet CPU"]'), null);
    assert.equal(await page.$eval('figure[data-chart="Fleet RAM"]', (f) => f.getAttribute('data-series')), '3');
    const over2 = (await page.$('figure[data-chart="Fleet RAM"] .u-over'))!;
    const box2 = (await over2.boundingBox())!;
    await page.mouse.move(box2.x + box2.width - 5, box2.y + box2.height / 2);
    await page.waitForFunction(() => [...document.querySelectorAll('figure[data-chart="Fleet RAM"] .u-legend .u-series .u-value')].slice(1).every((v) => /%/.test(v.textContent ?? '')), { timeout: WAIT });
    assert.deepEqual(await page.$$eval('figure[data-chart="Fleet RAM"] .u-legend .u-series .u-value', (vs) => vs.slice(1).map((v) => v.textContent)), ['55.0 %', '56.0 %', '57.0 %']);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('beyond eight nodes the fleet chart has no legend: the series nearest the cursor is named with its value', async () => {
  // Nine nodes, CPU 10, 20, … 90 %: the top of the chart is nearest to e2e-many-9.
  for (let i = 1; i <= 9; i++) await ingest(`e2e-many-${i}`, 20, 60_000, { cpuPercent: i * 10 });
  const { page } = await app.openPage('/nodes?q=e2e-many-&range=1h&tz=utc');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await page.waitForSelector('figure[data-chart="Fleet CPU"] canvas');
    assert.equal(await page.$eval('figure[data-chart="Fleet CPU"]', (f) => f.getAttribute('data-series')), '9');
    assert.equal(await page.$('figure[data-chart="Fleet CPU"] .u-legend'), null, 'no legend with nine series');
    const box = (await (await page.$('figure[data-chart="Fleet CPU"] .u-over'))!.boundingBox())!;
    await page.mouse.move(box.x + box.width - 5, box.y + 3);
    await page.waitForFunction(() => (document.querySelector('figure[data-chart="Fleet CPU"] .chart-focus')?.textContent ?? '') !== '', { timeout: WAIT });
    assert.match(await page.$eval('figure[data-chart="Fleet CPU"] .chart-focus', (p) => p.textContent ?? ''), /^e2e-many-9: 90\.0 % at \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  } finally {
    await page.close();
  }
});

/** The figure's last drawn x-axis labels with their widths in the axes' font, once the chart box is `width` px wide. */
async function xLabelsAt(page: Page, title: string, width: number): Promise<{ text: string; left: number; right: number }[]> {
  const sel = `figure[data-chart="${title}"]`;
  await page.waitForSelector(`${sel} canvas`);
  await page.$eval(`${sel} .chart-box`, (b, w) => ((b as HTMLElement).style.width = `${w}px`), width);
  // The plot is the box less the y axis (84 px) and a little padding: wait for the redraw at the new width.
  await page.waitForFunction((s, w) => {
    const p = Number(document.querySelector(s)?.getAttribute('data-plot-width'));
    return p <= w - 84 && p > w - 84 - 30;
  }, { timeout: WAIT }, sel, width);
  return page.$eval(sel, (f) => {
    const ctx = document.createElement('canvas').getContext('2d')!;
    ctx.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif';
    const labels = JSON.parse(f.getAttribute('data-x-labels') ?? '[]') as [string, number][];
    return labels.map(([text, centre]) => {
      const w = Math.max(...text.split('\n').map((l) => ctx.measureText(l).width));
      return { text, left: centre - w / 2, right: centre + w / 2 };
    });
  });
}

function assertNoOverlap(labels: { text: string; left: number; right: number }[], what: string): void {
  assert.ok(labels.length >= 2, `${what}: at least two labels (${JSON.stringify(labels)})`);
  const sorted = [...labels].sort((a, b) => a.left - b.left);
  for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i]!.left > sorted[i - 1]!.right, `${what}: "${sorted[i - 1]!.text}" and "${sorted[i]!.text}" overlap (${JSON.stringify(sorted)})`);
}

test('on a narrow chart (360 and 480 px, a half-width chart on a laptop) the time labels of a 1-day and a 3-day range do not overlap', async () => {
  const end = Math.floor(Date.now() / 60_000) * 60_000;
  await ingest('e2e-narrow-node', 3 * 48, 30 * 60_000, { cpuPercent: 20, ramPercent: 40 }, end);
  const { page } = await app.openPage('/nodes/e2e-narrow-node?range=24h&tz=utc');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    for (const width of [360, 480]) assertNoOverlap(await xLabelsAt(page, 'Memory', width), `1 day at ${width} px`);
    const from = new Date(end - 3 * 86_400_000).toISOString();
    await page.goto(`${app.base}/nodes/e2e-narrow-node?from=${from}&to=${new Date(end).toISOString()}&tz=utc`, { waitUntil: 'domcontentloaded' });
    for (const width of [360, 480]) {
      const three = await xLabelsAt(page, 'Memory', width);
      assertNoOverlap(three, `3 days at ${width} px`);
      // Each label still says the day and the time.
      assert.ok(three.every((l) => /\d{2} \w{3}/.test(l.text) && /\d{2}:\d{2}/.test(l.text)), JSON.stringify(three));
    }
  } finally {
    await page.close();
  }
});

test('an all-zero series gets a y axis whose labels differ (not "0 0 0")', async () => {
  await ingest('e2e-zero-node', 20, 60_000, { cpuPercent: 0, load1m: 0, load5m: 0, load15m: 0, netRxBytesSec: 0, netTxBytesSec: 0 });
  const { page } = await app.openPage('/nodes/e2e-zero-node?range=1h&tz=utc');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    for (const title of ['Load', 'Network', 'CPU']) {
      const sel = `figure[data-chart="${title}"]`;
      await page.waitForFunction((s) => (document.querySelector(s)?.getAttribute('data-y-labels') ?? '[]') !== '[]', { timeout: WAIT }, sel);
      const labels = (JSON.parse(await page.$eval(sel, (f) => f.getAttribute('data-y-labels') ?? '[]')) as [string, number][]).map(([t]) => t);
      assert.ok(labels.length >= 2, `${title}: ${labels.join(' | ')}`);
      assert.equal(new Set(labels).size, labels.length, `${title}: ${labels.join(' | ')}`);
      assert.ok(labels.includes(title === 'Network' ? '0 B/s' : title === 'CPU' ? '0.0 %' : '0'), `${title}: ${labels.join(' | ')}`);
    }
  } finally {
    await page.close();
  }
});
