/**
 * The mail pages of the web dashboard in a real browser (test/support/browser.ts): delivery
 * analytics, message trace, sending IPs (windowed list, bulk pause), sending domains and
 * destinations. Data goes in through the real API; each test uses its own domains, Message-IDs
 * and address ranges, so no test reads another's data. Expected figures are written by hand
 * from the events each test sends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'puppeteer-core';
import { TEST_ADMIN_PASSWORD } from '../support/app.ts';
import { createTestUser, TEST_USER_PASSWORD } from '../support/auth.ts';
import { chartPoints, expectHeading, fitsPhone, logIn, screenshot, useBrowserApp, WAIT } from '../support/browser.ts';

const app = useBrowserApp();

async function sendEvents(events: Record<string, unknown>[]): Promise<void> {
  const res = await app.apiCall('POST', '/api/v1/events/email', app.adminAuth, events);
  assert.equal(res.status, 200, JSON.stringify(res.json));
}

async function putNode(id: string): Promise<void> {
  const res = await app.apiCall('PUT', `/api/v1/nodes/${id}`, app.adminAuth, { hostname: `${id}.example` });
  assert.ok(res.status === 200 || res.status === 201, JSON.stringify(res.json));
}

const text = (page: Page, sel: string) => page.$eval(sel, (e) => (e.textContent ?? '').trim());
const waitText = (page: Page, sel: string, re: RegExp) =>
  page.waitForFunction((s, src) => new RegExp(src).test(document.querySelector(s)?.textContent ?? ''), { timeout: WAIT }, sel, re.source);

test('the delivery page shows the totals, rates, breakdown and bounce analysis of the events sent, filtered by the URL', async () => {
  const now = Date.now();
  const at = (min: number) => new Date(now - min * 60_000).toISOString();
  const base = { fromDomain: 'e2e-deliv.example', mtaNode: 'e2e-deliv-mx', sendingIp: '192.0.2.61' };
  await sendEvents([
    ...[1, 2, 3].map((i) => ({ ...base, eventType: 'sent', timestamp: at(20 + i), toDomain: 'inbox-a.example' })),
    ...[1, 2, 3, 4, 5, 6].map((i) => ({ ...base, eventType: 'delivered', timestamp: at(10 + i), toDomain: 'inbox-a.example', statusCode: 250, statusMessage: '250 2.0.0 OK', deliveryTimeMs: 100 * i })),
    ...[1, 2].map((i) => ({ ...base, eventType: 'bounced', timestamp: at(5 + i), toDomain: 'inbox-b.example', statusCode: 550, statusMessage: '550 5.1.1 User unknown', bounceType: 'hard', bounceCategory: 'user_unknown' })),
    { ...base, eventType: 'deferred', timestamp: at(4), toDomain: 'inbox-b.example', statusCode: 451, statusMessage: '451 4.7.0 Try again later', bounceCategory: 'greylist' },
    { ...base, eventType: 'rejected', timestamp: at(3), toDomain: 'inbox-c.example' },
    // Another sender's event: outside the filter, never counted below.
    { eventType: 'delivered', timestamp: at(2), fromDomain: 'e2e-other.example', toDomain: 'inbox-a.example', mtaNode: 'e2e-deliv-mx' },
  ]);
  const { page, problems } = await app.openPage('/mail?range=1h&fromDomain=e2e-deliv.example&by=toDomain&tz=utc');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await expectHeading(page, 'Mail delivery');
    // 10 outcomes: 6 delivered (60 %), 2 bounced (20 %), 1 deferred, 1 rejected (10 % each); 3 queued.
    await waitText(page, '[data-stat="Delivered"] .value', /^6$/);
    assert.equal(await text(page, '[data-stat="Delivered"] .sub'), '60.0 %');
    assert.equal(await text(page, '[data-stat="Bounced"] .value'), '2');
    assert.equal(await text(page, '[data-stat="Bounced"] .sub'), '20.0 %');
    assert.equal(await text(page, '[data-stat="Deferred"] .sub'), '10.0 %');
    assert.equal(await text(page, '[data-stat="Rejected"] .value'), '1');
    assert.equal(await text(page, '[data-stat="Queued (sent)"] .value'), '3');
    assert.ok((await chartPoints(page, 'Delivery outcomes')) > 0);
    assert.match(await text(page, 'figure[data-chart="Delivery outcomes"] .unit'), /^events per (5m|1h)$/);
    assert.equal(await text(page, 'figure[data-chart="Outcome rates"] .unit'), 'percent');
    // Breakdown by recipient domain: inbox-b has 2 bounced of 3 attempts.
    await page.waitForSelector('table[data-table=breakdown] tr[data-value="inbox-b.example"]');
    assert.equal(await text(page, 'table[data-table=breakdown] tr[data-value="inbox-b.example"] td[data-col=bounced]'), '2');
    assert.equal(await text(page, 'table[data-table=breakdown] tr[data-value="inbox-b.example"] td[data-col=bouncedRate]'), '66.7 %');
    assert.equal(await text(page, 'table[data-table=breakdown] tr[data-value="inbox-a.example"] td[data-col=delivered]'), '6', 'the other sender\'s delivery is filtered out');
    // Sorting by bounce rate puts inbox-b first (the API's sort), kept in the URL.
    await page.click('table[data-table=breakdown] button[data-sort=bounceRate]');
    await page.waitForFunction(() => new URLSearchParams(window.location.search).get('sort') === 'bounceRate');
    await page.waitForFunction(() => document.querySelector('table[data-table=breakdown] tbody tr')?.getAttribute('data-value') === 'inbox-b.example', { timeout: WAIT });
    // Bounce analysis: 5.1.1 twice (bounced), 4.7.0 once (deferred); code classes 5xx and 4xx.
    await page.waitForSelector('table[data-table=enhanced-status] tr[data-key="5.1.1"]');
    const cells = (sel: string) => page.$$eval(`${sel} td`, (tds) => tds.map((td) => (td.textContent ?? '').trim()));
    assert.deepEqual((await cells('table[data-table=enhanced-status] tr[data-key="5.1.1"]')).slice(1), ['2', '0', '0', '2']);
    assert.deepEqual((await cells('table[data-table=code-class] tr[data-key="4xx"]')).slice(1), ['0', '1', '0', '1']);
    assert.deepEqual((await cells('table[data-table=category] tr[data-key="user_unknown"]')).slice(1), ['2', '0', '0', '2']);
    assert.deepEqual((await cells('table[data-table=top-domains] tr[data-key="inbox-b.example"]')).slice(1), ['2', '3', '66.7 %']);
    await screenshot(page, 'mail-delivery');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('a filter is checked before it is sent, and a filter the API refuses is named next to its field', async () => {
  const { page } = await app.openPage('/mail?range=1h');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await page.waitForSelector('form.mail-filters input[name=sendingIp]');
    await page.type('input[name=sendingIp]', '192.0.2.300');
    await page.click('form.mail-filters button[type=submit]');
    await waitText(page, 'label[data-field=sendingIp] .field-error', /IPv4 or IPv6/);
    assert.equal(new URL(page.url()).searchParams.get('sendingIp'), null, 'nothing was applied');
    // A hand-made URL reaches the API, whose problem answer names querystring.mtaNode.
    await page.goto(`${app.base}/mail?range=1h&mtaNode=${encodeURIComponent('-no good')}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('label[data-field=mtaNode] .field-error');
    assert.ok((await text(page, 'label[data-field=mtaNode] .field-error')).length > 0);
    assert.equal(await page.$('label[data-field=fromDomain] .field-error'), null);
  } finally {
    await page.close();
  }
});

test('the trace of one Message-ID lists its events across nodes in time order, with the SMTP replies', async () => {
  const mid = '<e2e-trace-1@shop.example>';
  const t0 = Date.now() - 30 * 60_000;
  const at = (min: number) => new Date(t0 + min * 60_000).toISOString();
  const m = { messageId: mid, fromAddress: 'anna@shop.example', toAddress: 'bob@inbox-t.example', toDomain: 'inbox-t.example', fromDomain: 'shop.example' };
  // Sent out of order on purpose: the page shows them by time.
  await sendEvents([
    { ...m, eventType: 'delivered', timestamp: at(5), mtaNode: 'e2e-trace-mx2', queueId: 'q2', statusCode: 250, statusMessage: '250 2.0.0 Ok: queued as 4XyZ', mxHost: 'mx.inbox-t.example', sendingIp: '192.0.2.71', deliveryTimeMs: 840 },
    { ...m, eventType: 'sent', timestamp: at(0), mtaNode: 'e2e-trace-mx1', queueId: 'q1' },
    { ...m, eventType: 'received', timestamp: at(6), mtaNode: 'e2e-trace-in' },
    { ...m, eventType: 'deferred', timestamp: at(1), mtaNode: 'e2e-trace-mx1', queueId: 'q1', statusCode: 451, statusMessage: '451 4.7.1 Greylisted, try again in 5 minutes', mxHost: 'mx.inbox-t.example' },
    { ...m, messageId: '<e2e-trace-other@shop.example>', eventType: 'delivered', timestamp: at(2), mtaNode: 'e2e-trace-mx1' },
  ]);
  const { page, problems } = await app.openPage('/mail/trace?range=1h&tz=utc');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await expectHeading(page, 'Message trace');
    await page.type('input[name=messageId]', 'not a message id');
    await page.click('form.mail-filters button[type=submit]');
    await waitText(page, 'label[data-field=messageId] .field-error', /angle brackets/);
    assert.equal(new URL(page.url()).pathname, '/mail/trace');
    await page.$eval('input[name=messageId]', (i) => ((i as HTMLInputElement).value = ''));
    await page.type('input[name=messageId]', mid);
    await page.click('form.mail-filters button[type=submit]');
    await page.waitForFunction(() => window.location.pathname.startsWith('/mail/trace/'));
    assert.equal(decodeURIComponent(new URL(page.url()).pathname.slice('/mail/trace/'.length)), mid);
    await page.waitForSelector('.trace-event');
    const types = await page.$$eval('.trace-event', (li) => li.map((l) => l.getAttribute('data-event-type')));
    assert.deepEqual(types, ['sent', 'deferred', 'delivered', 'received']);
    assert.equal(await text(page, '.trace-event[data-index="1"] .reply'), '451 4.7.1 Greylisted, try again in 5 minutes');
    assert.match(await text(page, '.trace-event[data-index="2"]'), /e2e-trace-mx2/);
    assert.match(await text(page, '[data-summary]'), /4 events on 3 node\(s\) \(e2e-trace-mx1, e2e-trace-mx2, e2e-trace-in\)/);
    await screenshot(page, 'mail-trace');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('the sending-IP list of 1,016 addresses keeps only the rows in view in the page, loads the rest as it scrolls, and filters', async () => {
  await putNode('e2e-ipnode-a');
  await putNode('e2e-ipnode-b');
  for (const [i, node] of [[0, 'e2e-ipnode-a'], [1, 'e2e-ipnode-a'], [2, 'e2e-ipnode-a'], [3, 'e2e-ipnode-b']] as const) {
    const r = await app.apiCall('POST', '/api/v1/ips/range', app.adminAuth, { cidr: `10.201.${i}.0/24`, nodeId: node });
    assert.equal(r.status, 201, JSON.stringify(r.json));
  }
  const { page, problems } = await app.openPage('/mail/ips?search=10.201.');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await waitText(page, '[data-total]', /^1,016 IPs match$/);
    await page.waitForSelector('tr[data-ip="10.201.0.1"]');
    const rowsInDom = () => page.$$eval('.ip-table tr.row', (r) => r.length);
    const first = await rowsInDom();
    assert.ok(first > 5 && first < 80, `rows in the DOM: ${first}`);
    // The scroll box is as tall as the whole list; scrolled to the end, the last address shows.
    await page.$eval('.ip-scroll', (el) => el.scrollTo(0, el.scrollHeight));
    await page.waitForSelector('tr[data-ip="10.201.3.254"]');
    const atEnd = await rowsInDom();
    assert.ok(atEnd > 5 && atEnd < 80, `rows in the DOM at the end: ${atEnd}`);
    assert.equal(await page.$('tr[data-ip="10.201.0.1"]'), null, 'the first rows left the DOM');
    await screenshot(page, 'mail-ips');
    // Filter by node: the last /24 only.
    await page.type('input[name=nodeId]', 'e2e-ipnode-b');
    await page.click('form.mail-filters button[type=submit]');
    await waitText(page, '[data-total]', /^254 IPs match$/);
    assert.equal(new URL(page.url()).searchParams.get('nodeId'), 'e2e-ipnode-b');
    await page.waitForSelector('tr[data-ip="10.201.3.1"]');
    // Filter by status: none of them is paused.
    await page.select('select[name=status]', 'paused');
    await waitText(page, '[data-total]', /^0 IPs match$/);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('an operator pauses two IPs in bulk; a viewer sees no pause button', async () => {
  for (const ip of ['10.202.0.1', '10.202.0.2', '10.202.0.3']) {
    const r = await app.apiCall('POST', '/api/v1/ips', app.adminAuth, { ip });
    assert.equal(r.status, 201, JSON.stringify(r.json));
  }
  await createTestUser(app.rt, 'e2e-mail-operator', 'operator');
  await createTestUser(app.rt, 'e2e-mail-viewer', 'viewer');
  const { page } = await app.openPage('/mail/ips?search=10.202.0.');
  try {
    await logIn(page, 'e2e-mail-operator', TEST_USER_PASSWORD);
    await page.waitForSelector('tr[data-ip="10.202.0.3"] input[type=checkbox]');
    await page.click('tr[data-ip="10.202.0.1"] input[type=checkbox]');
    await page.click('tr[data-ip="10.202.0.3"] input[type=checkbox]');
    await page.click('button[data-action=pause]');
    await waitText(page, '[role=status]', /Paused 2: 10\.202\.0\.1, 10\.202\.0\.3/);
    const status = async (ip: string) => ((await app.apiCall('GET', `/api/v1/ips/${ip}`, app.adminAuth)).json as { status: string }).status;
    assert.deepEqual([await status('10.202.0.1'), await status('10.202.0.2'), await status('10.202.0.3')], ['paused', 'active', 'paused']);
    await waitText(page, 'tr[data-ip="10.202.0.1"] .badge', /^paused$/);
  } finally {
    await page.close();
  }
  const viewer = await app.openPage('/mail/ips?search=10.202.0.');
  try {
    await logIn(viewer.page, 'e2e-mail-viewer', TEST_USER_PASSWORD);
    await viewer.page.waitForSelector('tr[data-ip="10.202.0.1"]');
    assert.equal(await viewer.page.$('button[data-action=pause]'), null);
    assert.equal(await viewer.page.$('tr[data-ip="10.202.0.1"] input[type=checkbox]'), null);
    await viewer.page.goto(`${app.base}/mail/ips/10.202.0.1`, { waitUntil: 'domcontentloaded' });
    await viewer.page.waitForSelector('.stats [data-stat="Verdict"]');
    assert.deepEqual(await viewer.page.$$eval('main button[data-action]', (b) => b.map((x) => x.getAttribute('data-action'))), []);
  } finally {
    await viewer.page.close();
  }
});

test('markup in an email address, a bounce message and an IP note is shown as text, never as elements', async () => {
  const mid = '<e2e-xss-1@shop.example>';
  const to = '<img id="xss-to" src="x" onerror="window.__xss=1">@inbox-x.example';
  const bounce = '<b id="xss-bounce">550</b> 5.1.1 <script id="xss-script">window.__xss=2</script>';
  const note = '<i id="xss-note">note</i>';
  await sendEvents([{ messageId: mid, eventType: 'bounced', timestamp: new Date(Date.now() - 60_000).toISOString(), mtaNode: 'e2e-xss-mx', toAddress: to, toDomain: 'inbox-x.example', statusCode: 550, bounceMessage: bounce }]);
  const r = await app.apiCall('POST', '/api/v1/ips', app.adminAuth, { ip: '10.203.0.9', notes: note });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  const { page } = await app.openPage(`/mail/trace/${encodeURIComponent(mid)}`);
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await page.waitForSelector('.trace-event');
    assert.equal(await text(page, '.trace-event dd.to'), to);
    assert.equal(await text(page, '.trace-event dd.bounce-message'), bounce);
    await page.goto(`${app.base}/mail/ips?search=10.203.0.`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('tr[data-ip="10.203.0.9"]');
    assert.equal(await text(page, 'tr[data-ip="10.203.0.9"] td.notes'), note);
    const injected = await page.evaluate(() => ({
      elements: ['xss-to', 'xss-bounce', 'xss-script', 'xss-note'].filter((x) => document.getElementById(x) !== null),
      ran: (window as unknown as { __xss?: number }).__xss ?? null,
    }));
    assert.deepEqual(injected, { elements: [], ran: null });
  } finally {
    await page.close();
  }
});

test('sending domains: the list with authentication state, adding one validated first, and the domain page', async () => {
  const added = await app.apiCall('POST', '/api/v1/domains', app.adminAuth, { domain: 'e2e-dom-a.example', dkimSelectors: ['s1'] });
  assert.equal(added.status, 201, JSON.stringify(added.json));
  await createTestUser(app.rt, 'e2e-dom-operator', 'operator');
  await createTestUser(app.rt, 'e2e-dom-viewer', 'viewer');
  const { page, problems } = await app.openPage('/mail/domains?search=e2e-dom');
  try {
    await logIn(page, 'e2e-dom-operator', TEST_USER_PASSWORD);
    await page.waitForSelector('tr[data-domain="e2e-dom-a.example"]');
    assert.match(await text(page, 'tr[data-domain="e2e-dom-a.example"]'), /never checked/);
    assert.deepEqual(await page.$$eval('tr[data-domain="e2e-dom-a.example"] [data-auth]', (b) => b.map((x) => (x.textContent ?? '').trim())), ['SPF ✗', 'DKIM ✗', 'DMARC ✗']);
    assert.ok(await page.$('tr[data-domain="e2e-dom-a.example"] button[data-action=check]'));
    // Not a host name: refused before sending. Already listed: the API's 409 is shown at the field.
    await page.type('input[name=domain]', 'no_domain');
    await page.click('button[data-action=add-domain]');
    await waitText(page, 'label[data-field=domain] .field-error', /host name/);
    await page.$eval('input[name=domain]', (i) => ((i as HTMLInputElement).value = ''));
    await page.type('input[name=domain]', 'e2e-dom-a.example');
    await page.click('button[data-action=add-domain]');
    await waitText(page, 'label[data-field=domain] .field-error', /already listed/);
    await page.$eval('input[name=domain]', (i) => ((i as HTMLInputElement).value = ''));
    await page.type('input[name=domain]', 'E2E-dom-b.example');
    await page.click('button[data-action=add-domain]');
    await page.waitForSelector('tr[data-domain="e2e-dom-b.example"]');
    assert.equal(((await app.apiCall('GET', '/api/v1/domains/e2e-dom-b.example', app.adminAuth)).json as { domain: string }).domain, 'e2e-dom-b.example');
    await screenshot(page, 'mail-domains');
    await page.click('tr[data-domain="e2e-dom-a.example"] a');
    await page.waitForFunction(() => window.location.pathname === '/mail/domains/e2e-dom-a.example');
    await page.waitForSelector('[data-stat="Health score"]');
    assert.equal(await text(page, '[data-stat="SPF"] .value'), 'not configured');
    assert.match(await text(page, '[data-problems]'), /never checked|not configured/);
    // The browser logs the refused add (409) as a failed load; nothing else went wrong.
    assert.deepEqual(problems.filter((p) => !/status of 409/.test(p)), []);
  } finally {
    await page.close();
  }
  const viewer = await app.openPage('/mail/domains?search=e2e-dom');
  try {
    await logIn(viewer.page, 'e2e-dom-viewer', TEST_USER_PASSWORD);
    await viewer.page.waitForSelector('tr[data-domain="e2e-dom-a.example"]');
    assert.equal(await viewer.page.$('button[data-action=check]'), null);
    assert.equal(await viewer.page.$('form.add-domain'), null);
  } finally {
    await viewer.page.close();
  }
});

test('destinations: recipient domains with rates and p95, and one domain with its SMTP codes, MX hosts and IPs', async () => {
  const at = (min: number) => new Date(Date.now() - min * 60_000).toISOString();
  const d = { fromDomain: 'e2e-dest.example', toDomain: 'e2e-dest-inbox.example', mtaNode: 'e2e-dest-mx', mxHost: 'mx1.e2e-dest-inbox.example', sendingIp: '192.0.2.81' };
  await sendEvents([
    ...[1, 2, 3].map((i) => ({ ...d, eventType: 'delivered', timestamp: at(i), statusCode: 250, deliveryTimeMs: 200 })),
    { ...d, eventType: 'bounced', timestamp: at(4), statusCode: 550, statusMessage: '550 5.7.1 Rejected' },
  ]);
  const { page, problems } = await app.openPage('/mail/destinations?range=1h&fromDomain=e2e-dest.example');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await page.waitForSelector('table[data-table=destinations] tr[data-key="e2e-dest-inbox.example"]');
    const row = 'table[data-table=destinations] tr[data-key="e2e-dest-inbox.example"]';
    assert.equal(await text(page, `${row} td[data-col=delivered]`), '3');
    assert.equal(await text(page, `${row} td[data-col=bouncedRate]`), '25.0 %');
    await page.waitForSelector('table[data-table=mx-hosts] tr[data-key="mx1.e2e-dest-inbox.example"]');
    await screenshot(page, 'mail-destinations');
    // The filter follows to the delivery page through the mail tabs.
    await page.click('nav.mail-nav a[href^="/mail?"]');
    await page.waitForFunction(() => window.location.pathname === '/mail');
    assert.equal(new URL(page.url()).searchParams.get('fromDomain'), 'e2e-dest.example');
    await page.goBack();
    await page.waitForSelector(`${row} a`);
    await page.click(`${row} a`);
    await page.waitForFunction(() => window.location.pathname === '/mail/destinations/e2e-dest-inbox.example');
    await page.waitForSelector('table[data-table=codes] tr[data-key="550"]');
    assert.equal(await text(page, 'table[data-table=codes] tr[data-key="250"] td[data-col=delivered]'), '3');
    // from the destination-detail rollup: the middle of the histogram bucket holding 200 ms, 2^(61.5/8) ≈ 206 ms (docs/mail.md)
    assert.equal(await text(page, 'table[data-table=codes] tr[data-key="250"] td[data-col=p95]'), '206 ms');
    assert.equal(await text(page, 'table[data-table=ips] tr[data-key="192.0.2.81"] td[data-col=events]'), '4');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('on a phone width the mail pages do not scroll sideways (wide tables scroll inside their box)', async () => {
  const at = new Date(Date.now() - 60_000).toISOString();
  await sendEvents([{ eventType: 'bounced', timestamp: at, messageId: '<e2e-phone-1@shop.example>', fromDomain: 'e2e-phone.example', toDomain: 'e2e-phone-inbox.example', mtaNode: 'e2e-phone-mx', sendingIp: '192.0.2.91', statusCode: 550, statusMessage: '550 5.1.1 The email account that you tried to reach does not exist; please check the address and try again' }]);
  const { page } = await app.openPage('/mail?range=1h&fromDomain=e2e-phone.example');
  try {
    await page.setViewport({ width: 390, height: 844 });
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await expectHeading(page, 'Mail delivery');
    for (const path of ['/mail?range=1h&fromDomain=e2e-phone.example', '/mail/destinations?range=1h', `/mail/trace/${encodeURIComponent('<e2e-phone-1@shop.example>')}`, '/mail/ips', '/mail/domains']) {
      await page.goto(`${app.base}${path}`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('main h1');
      await page.waitForSelector('main table, main .trace-event');
      await fitsPhone(page, 390, path);
    }
  } finally {
    await page.close();
  }
});

test("an IP's page shows its warm-up progress (day of the plan, today's allowance) and its verdict; the list shows the day too", async () => {
  const plans = (await app.apiCall('GET', '/api/v1/warmup-plans', app.adminAuth)).json as { items: { id: number; name: string }[] };
  const moderate = plans.items.find((p) => p.name === 'moderate');
  assert.ok(moderate, JSON.stringify(plans.items));
  const r = await app.apiCall('POST', '/api/v1/ips', app.adminAuth, { ip: '10.204.0.5', warmupPlanId: moderate.id });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  const { page, problems } = await app.openPage('/mail/ips?search=10.204.0.');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    // The moderate plan: 60 days, 50 messages on day 1 (docs/mail.md).
    await waitText(page, 'tr[data-ip="10.204.0.5"] .warmup-cell', /day 1\/60 · 0\/50/);
    await page.click('tr[data-ip="10.204.0.5"] a');
    await page.waitForFunction(() => window.location.pathname === '/mail/ips/10.204.0.5');
    await waitText(page, '[data-warmup]', /moderate: day 1 of 60; today 0 sent of 50, 50 remaining/);
    assert.equal(await text(page, '[data-stat="Status"] .value'), 'warming');
    assert.match(await text(page, 'table[data-table=listings] td'), /^Not listed on any of the \d+ zones checked/);
    assert.ok(await page.$('button[data-action=pause]'), 'an admin may pause it');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('"Pause all N matching" sends the filter and pauses every IP of a /24 though only a few rows are in the page; the others stay as they were', async () => {
  const range = await app.apiCall('POST', '/api/v1/ips/range', app.adminAuth, { cidr: '10.205.7.0/24' });
  assert.equal(range.status, 201, JSON.stringify(range.json));
  assert.equal((range.json as { added: string[] }).added.length, 254);
  // Outside the range, one of them matching a text search for "10.205.7" (10.205.70.7).
  const outside = ['10.205.6.254', '10.205.8.1', '10.205.70.7'];
  for (const ip of outside) {
    const r = await app.apiCall('POST', '/api/v1/ips', app.adminAuth, { ip });
    assert.equal(r.status, 201, JSON.stringify(r.json));
  }
  await createTestUser(app.rt, 'e2e-mail-bulk-operator', 'operator');
  const { page, problems } = await app.openPage('/mail/ips');
  const sent: unknown[] = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/api/v1/ips/bulk-action')) sent.push(JSON.parse(r.postData() ?? 'null'));
  });
  try {
    await logIn(page, 'e2e-mail-bulk-operator', TEST_USER_PASSWORD);
    await page.waitForSelector('input[name=subnet]');
    // Not a range: caught before sending.
    await page.type('input[name=subnet]', '10.205.7.0/33');
    await page.click('form.mail-filters button[type=submit]');
    await waitText(page, 'label[data-field=subnet] .field-error', /address range/);
    await page.locator('input[name=subnet]').fill('10.205.7.0/24');
    await page.click('form.mail-filters button[type=submit]');
    await waitText(page, '[data-total]', /^254 IPs match$/);
    await page.waitForSelector('tr[data-ip="10.205.7.1"]');
    const inDom = await page.$$eval('.ip-table tr.row', (r) => r.length);
    assert.ok(inDom < 100, `rows in the DOM: ${inDom}`);
    await page.click('button[data-action=pause-all]');
    await page.waitForSelector('[data-confirm=pause]');
    const confirm = await text(page, '[data-confirm=pause]');
    assert.match(confirm, /Pause all 254 IPs in 10\.205\.7\.0\/24\?/);
    await page.click('[data-confirm=pause] button[data-action=confirm]');
    await waitText(page, '[role=status]', /^Paused 254 of the IPs in 10\.205\.7\.0\/24; unchanged 0\.$/);
    assert.deepEqual(sent, [{ action: 'pause', filter: { subnet: '10.205.7.0/24' }, reason: 'from the dashboard (all matching)' }]);

    const list = async (q: string) => (await app.apiCall('GET', `/api/v1/ips?${q}&limit=1000`, app.adminAuth)).json as { items: { ip: string; status: string }[]; total: number };
    const inRange = await list('subnet=10.205.7.0/24');
    assert.equal(inRange.total, 254);
    assert.deepEqual([...new Set(inRange.items.map((i) => i.status))], ['paused']);
    const around = await list('subnet=10.205.0.0/16');
    assert.deepEqual(around.items.filter((i) => outside.includes(i.ip)).map((i) => [i.ip, i.status]), [['10.205.6.254', 'active'], ['10.205.8.1', 'active'], ['10.205.70.7', 'active']]);
    assert.equal(around.items.filter((i) => i.status === 'paused').length, 254);

    // Resume them all again, by the same filter.
    await page.click('button[data-action=resume-all]');
    await page.waitForSelector('[data-confirm=resume]');
    await page.click('[data-confirm=resume] button[data-action=confirm]');
    await waitText(page, '[role=status]', /^Resumed 254 of the IPs in 10\.205\.7\.0\/24/);
    assert.deepEqual([...new Set((await list('subnet=10.205.7.0/24')).items.map((i) => i.status))], ['active']);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('IP pools: an operator creates a pool (a bad name is caught before sending), moves a range into it, sees it in the IP list, and reads the ZoneMTA configuration; a viewer gets no forms', async () => {
  for (const ip of ['10.209.1.1', '10.209.1.2', '10.209.2.1']) {
    const r = await app.apiCall('POST', '/api/v1/ips', app.adminAuth, { ip, nodeId: null });
    assert.equal(r.status, 201, JSON.stringify(r.json));
  }
  // 10.209.1.2 is paused: the configuration leaves it out.
  await app.apiCall('POST', '/api/v1/ips/bulk-action', app.adminAuth, { action: 'pause', ips: ['10.209.1.2'], reason: 'e2e stop' });
  await createTestUser(app.rt, 'e2e-pool-operator', 'operator');
  await createTestUser(app.rt, 'e2e-pool-viewer', 'viewer');
  const { page, problems } = await app.openPage('/mail/pools');
  try {
    await logIn(page, 'e2e-pool-operator', TEST_USER_PASSWORD);
    await expectHeading(page, 'IP pools');
    const sent: string[] = [];
    page.on('request', (r) => void (r.method() === 'POST' && r.url().includes('/api/v1/ip-pools') && sent.push(r.postData() ?? '')));
    await page.type('form[data-form=new-pool] input[name=name]', 'E2E Pool');
    await page.click('form[data-form=new-pool] button[type=submit]');
    await waitText(page, 'form[data-form=new-pool] [data-error-for=name]', /lower-case letters/);
    assert.deepEqual(sent, [], 'nothing is sent before the name is right');
    await page.$eval('form[data-form=new-pool] input[name=name]', (e) => void ((e as HTMLInputElement).value = ''));
    await page.type('form[data-form=new-pool] input[name=name]', 'e2e-marketing');
    await page.type('form[data-form=new-pool] input[name=description]', '<b>newsletters</b>');
    await page.click('form[data-form=new-pool] button[type=submit]');
    await page.waitForSelector('table[data-table=pools] tr[data-pool="e2e-marketing"]');
    assert.equal(await page.$('table[data-table=pools] tr[data-pool="e2e-marketing"] b'), null, 'the description is text');
    // Move 10.209.1.0/24 (two IPs) into it.
    await page.select('form[data-form=assign] select[name=pool]', 'e2e-marketing');
    await page.type('form[data-form=assign] input[name=subnet]', '10.209.1.0/24');
    await page.click('form[data-form=assign] button[type=submit]');
    await waitText(page, 'form[data-form=assign] [role=status]', /^2 IPs moved into e2e-marketing; 0 were there already\.$/);
    assert.deepEqual(JSON.parse(sent.at(-1)!), { pool: 'e2e-marketing', filter: { subnet: '10.209.1.0/24' } });
    await waitText(page, 'table[data-table=pools] tr[data-pool="e2e-marketing"] td:nth-child(3)', /^2$/);
    const pools = (await app.apiCall('GET', '/api/v1/ips?pool=e2e-marketing', app.adminAuth)).json as { items: { ip: string }[] };
    assert.deepEqual(pools.items.map((i) => i.ip), ['10.209.1.1', '10.209.1.2']);
    // The ZoneMTA configuration of every IP: 10.209.1.1 in the pool, 10.209.1.2 left out (paused).
    await waitText(page, 'pre[data-toml]', /\[\[pools\.e2e-marketing\]\]\naddress = "10\.209\.1\.1"/);
    assert.doesNotMatch(await text(page, 'pre[data-toml]'), /^address = "10\.209\.1\.2"/m);
    assert.equal(await page.$eval('table[data-table=pool-shares] tr[data-share="10.209.1.2"]', (e) => e.getAttribute('data-left')), 'paused');
    // The pool's count opens the IP list filtered by it, with the pool and score columns.
    await page.click('table[data-table=pools] tr[data-pool="e2e-marketing"] a');
    await page.waitForFunction(() => window.location.pathname === '/mail/ips' && new URLSearchParams(window.location.search).get('pool') === 'e2e-marketing');
    await page.waitForSelector('tr[data-ip="10.209.1.2"]');
    assert.equal(await page.$('tr[data-ip="10.209.2.1"]'), null);
    assert.equal(await text(page, 'tr[data-ip="10.209.1.1"] td[data-col=pool]'), 'e2e-marketing');
    assert.equal(await text(page, 'tr[data-ip="10.209.1.1"] td[data-col=score]'), '50', 'not scored yet: the column default');
    await screenshot(page, 'mail-pools');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
  const viewer = await app.openPage('/mail/pools');
  try {
    await logIn(viewer.page, 'e2e-pool-viewer', TEST_USER_PASSWORD);
    await viewer.page.waitForSelector('table[data-table=pools] tr[data-pool="e2e-marketing"]');
    assert.equal(await viewer.page.$('form[data-form=new-pool]'), null);
    assert.equal(await viewer.page.$('form[data-form=assign]'), null);
    assert.equal(await viewer.page.$('button[data-action=delete]'), null);
    const login = (await app.apiCall('POST', '/api/v1/auth/login', '', { username: 'e2e-pool-viewer', password: TEST_USER_PASSWORD })).json as { accessToken: string };
    const refused = await app.apiCall('POST', '/api/v1/ip-pools', `Bearer ${login.accessToken}`, { name: 'viewer-pool' });
    assert.equal(refused.status, 403);
  } finally {
    await viewer.page.close();
  }
});
