/**
 * The web dashboard in a real browser (Debian's Chromium driven by puppeteer-core, headless)
 * against the real app listening on loopback, on a real database. One backend — the real
 * PostgreSQL server — is enough here: the pages only call the HTTP API, whose storage
 * behaviour the API tests cover on every backend. (A run narrowed with TEST_BACKENDS to
 * other backends uses the first of them.)
 *
 * Each test makes its own users, nodes and alert rules (distinct names) and its own browser
 * page; they share the app, the database and the browser process.
 *
 * Screenshots (1280×800 PNG) of the main pages are taken every run; with
 * UPDATE_SCREENSHOTS=1 they are written to docs/screenshots/ (referenced from the README),
 * otherwise to a temporary folder, so a test run leaves the working tree alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_ADMIN_PASSWORD } from '../support/app.ts';
import { createTestUser, login, TEST_USER_PASSWORD } from '../support/auth.ts';
import { chartPoints, expectHeading, logIn, screenshot, useBrowserApp, WAIT } from '../support/browser.ts';

const app = useBrowserApp();

/** `count` system rows for a node, one a minute up to `now`, CPU climbing from `cpu`. */
async function ingestSystem(nodeId: string, count: number, cpu: number, role?: string, now = Date.now()): Promise<void> {
  const data = Array.from({ length: count }, (_, i) => ({
    nodeId,
    timestamp: new Date(now - (count - 1 - i) * 60_000).toISOString(),
    cpuPercent: Math.min(100, cpu + (i % 7) * 3),
    ramPercent: 40 + (i % 5),
    diskPercent: 61,
    netRxBytesSec: 200_000 + i * 1000,
    netTxBytesSec: 90_000 + i * 500,
    load1m: 0.5 + (i % 4) / 4,
    load5m: 0.6,
    load15m: 0.7,
    tcpEstablished: 40 + i,
    ...(role ? { nodeRole: role } : {}),
  }));
  const res = await app.apiCall('POST', '/api/v1/metrics', app.adminAuth, { type: 'system', data });
  assert.equal(res.status, 200, JSON.stringify(res.json));
}

/** A rule firing for `nodeId` (CPU above 50 % over 10 minutes) and one evaluation: returns the alert's id. */
async function firingAlert(name: string, nodeId: string): Promise<number> {
  await ingestSystem(nodeId, 5, 90);
  const rule = await app.apiCall('POST', '/api/v1/alert-rules', app.adminAuth, {
    name,
    severity: 'critical',
    condition: { kind: 'metric', family: 'system', column: 'cpu_percent', aggregation: 'avg', comparison: '>', threshold: 50, windowSeconds: 600 },
    scope: { kind: 'node', values: [nodeId] },
  });
  assert.equal(rule.status, 201, JSON.stringify(rule.json));
  await app.rt.alerts.service.evaluate();
  const ruleId = (rule.json as { id: number }).id;
  const list = await app.apiCall('GET', `/api/v1/alerts?ruleId=${ruleId}&status=firing`, app.adminAuth);
  const items = (list.json as { items: { id: number }[] }).items;
  assert.equal(items.length, 1, JSON.stringify(list.json));
  return items[0]!.id;
}

test('/ carries the strict CSP and the pages run under it (no CSP violation, no script error)', async () => {
  const res = await fetch(`${app.base}/`, { headers: { accept: 'text/html' } });
  const csp = res.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  await ingestSystem('e2e-csp-node', 10, 20);
  const { page, problems } = await app.openPage('/nodes/e2e-csp-node?range=1h');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await expectHeading(page, 'e2e-csp-node');
    await chartPoints(page, 'CPU');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('a user who must change the password logs in, changes it, and lands on the overview', async () => {
  await app.rt.auth.services.users.create({ username: 'e2e-first', password: TEST_USER_PASSWORD, role: 'admin', mustChangePassword: true });
  const { page, problems } = await app.openPage('/');
  try {
    await logIn(page, 'e2e-first', TEST_USER_PASSWORD);
    await page.waitForSelector('input[name=newPassword]');
    assert.equal(await page.$('main h1'), null, 'no page before the password is changed');
    await page.type('input[name=currentPassword]', TEST_USER_PASSWORD);
    await page.type('input[name=newPassword]', 'a-fresh-e2e-password-42');
    await page.type('input[name=newPasswordAgain]', 'a-fresh-e2e-password-42');
    await page.click('button[type=submit]');
    await expectHeading(page, 'Overview');
    await page.waitForSelector('[data-stat="Nodes online"]');
    // The new password works through the API; the old one does not.
    assert.equal((await fetch(`${app.base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'e2e-first', password: 'a-fresh-e2e-password-42' }) })).status, 200);
    assert.equal((await fetch(`${app.base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'e2e-first', password: TEST_USER_PASSWORD }) })).status, 401);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test("a node's charts show the metrics inserted through the API", async () => {
  await ingestSystem('e2e-chart-node', 20, 10);
  // A second family (Redis) with one field sent: that field is charted, the unsent ones are only named.
  const redis = await app.apiCall('POST', '/api/v1/metrics', app.adminAuth, { type: 'redis', data: [0, 1, 2].map((i) => ({ nodeId: 'e2e-chart-node', timestamp: new Date(Date.now() - i * 60_000).toISOString(), connectedClients: 10 + i })) });
  assert.equal(redis.status, 200, JSON.stringify(redis.json));
  const { page } = await app.openPage('/nodes/e2e-chart-node?range=1h&tz=utc');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    // CPU draws busy and iowait (no iowait sent: the series has 20 empty values), memory one series.
    assert.equal(await chartPoints(page, 'CPU'), 40);
    assert.equal(await chartPoints(page, 'Memory'), 20);
    const legend = await page.$eval('figure[data-chart="Network"] .u-legend', (l) => l.textContent ?? '');
    assert.match(legend, /received/);
    assert.match(legend, /sent/);
    assert.equal(await chartPoints(page, 'connectedClients'), 3);
    assert.equal(await page.$('section[data-family=redis] figure[data-chart=blockedClients]'), null);
    assert.match(await page.$eval('section[data-family=redis] .hint', (p) => p.textContent ?? ''), /blockedClients/);
    // The list shows the node with its latest figures.
    await page.goto(`${app.base}/nodes?q=e2e-chart`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('tr[data-node="e2e-chart-node"]');
    const ram = await page.$eval('tr[data-node="e2e-chart-node"] td.col-ram', (td) => td.textContent ?? '');
    // The last row (i = 19): ramPercent 40 + 19 % 5 = 44.
    assert.match(ram, /^44\.0 %/);
  } finally {
    await page.close();
  }
});

test('the time range lives in the page address: a preset is kept across pages, a custom range shows only its rows, UTC is shown as such', async () => {
  const now = Math.floor(Date.now() / 60_000) * 60_000;
  await ingestSystem('e2e-range-node', 20, 10, undefined, now);
  const { page } = await app.openPage('/nodes/e2e-range-node?range=1h');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    assert.equal(await chartPoints(page, 'Memory'), 20);
    await page.select('select[aria-label=Range]', '6h');
    await page.waitForFunction(() => new URLSearchParams(window.location.search).get('range') === '6h');
    await page.select('select[aria-label="Time zone"]', 'utc');
    await page.waitForFunction(() => new URLSearchParams(window.location.search).get('tz') === 'utc');
    await page.waitForFunction(() => /UTC/.test(document.querySelector('dl.facts')?.textContent ?? ''), { timeout: WAIT });
    await page.click('nav.sidebar a[href^="/nodes"]');
    await page.waitForFunction(() => window.location.pathname === '/nodes');
    const kept = new URL(page.url()).searchParams;
    assert.deepEqual([kept.get('range'), kept.get('tz')], ['6h', 'utc']);
    // Rows at now, now - 1 min, … now - 19 min: the last 10½ minutes hold 11 of them.
    const from = new Date(now - 10.5 * 60_000).toISOString();
    const to = new Date(now + 30_000).toISOString();
    await page.goto(`${app.base}/nodes/e2e-range-node?from=${from}&to=${to}&tz=utc`, { waitUntil: 'domcontentloaded' });
    assert.equal(await chartPoints(page, 'Memory'), 11);
    assert.equal(await page.$eval('select[aria-label=Range]', (s) => (s as HTMLSelectElement).value), 'custom');
  } finally {
    await page.close();
  }
});

test("a node's page lists the processes its agent reports, with markup in a name shown as text", async () => {
  const at = new Date(Date.now() - 60_000).toISOString();
  const row = { time: at, nodeId: 'e2e-proc', cpuPercent: 12, ramPercent: 40, diskPercent: 50, processes: [
    { name: 'zone-mta', running: true, pid: 1234, cpuPercent: 3.1, memoryMB: 210.5 },
    { name: '<img src=x onerror="window.__pwned=1">haraka', running: false, pid: null, cpuPercent: null, memoryMB: null },
  ] };
  const res = await app.apiCall('POST', '/api/v1/metrics/system', app.adminAuth, { type: 'system', data: [row] });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  const { page, problems } = await app.openPage('/nodes/e2e-proc?range=1h');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await page.waitForSelector('[data-panel="processes"] tr[data-process]');
    const rows = await page.$$eval('[data-panel="processes"] tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 5).map((td) => td.textContent)));
    // sorted by the API (by name): the hostile name sorts first ('<' before 'z')
    assert.deepEqual(rows, [
      ['<img src=x onerror="window.__pwned=1">haraka', 'not running', '–', '–', '–'],
      ['zone-mta', 'running', '1234', '3.1 %', '211 MB'],
    ]);
    assert.equal(await page.$$eval('[data-panel="processes"] img', (x) => x.length), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('the nodes page shows the MongoDB replica set: members, roles, the lagging one, the summary', async () => {
  const now = Date.now();
  const ts = (s: number) => new Date(now - s * 1000).toISOString();
  const member = (nodeId: string, role: string, lag: number) => [
    { nodeId, timestamp: ts(20), role, connectionsCurrent: 10, connectionsAvailable: 90, opsInsert: 15, opsQuery: 15, replLagSeconds: lag, wtCacheUsedBytes: 50, wtCacheMaxBytes: 100, oplogWindowHours: 30 },
    { nodeId, timestamp: ts(5), role, connectionsCurrent: 10, connectionsAvailable: 90, opsInsert: 30, opsQuery: 0, replLagSeconds: lag, wtCacheUsedBytes: 50, wtCacheMaxBytes: 100, oplogWindowHours: 24 },
  ];
  const res = await app.apiCall('POST', '/api/v1/metrics', app.adminAuth, { type: 'mongodb', data: [...member('e2e-mongo-a', 'primary', 0), ...member('e2e-mongo-b', 'secondary', 45)] });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  const { page, problems } = await app.openPage('/nodes');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await page.waitForSelector('[data-panel="mongodb"] tr[data-member="e2e-mongo-b"]');
    const rows = await page.$$eval('[data-panel="mongodb"] tr[data-member^="e2e-mongo"]', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 5).map((td) => td.textContent)));
    // 30 inserts over the 15 s between the two samples: 2 ops/s; the secondary lags 45 s (threshold 10 s by default)
    assert.deepEqual(rows, [
      ['e2e-mongo-a', 'primary', 'ok', '0 s', '2'],
      ['e2e-mongo-b', 'secondary', 'lagging', '45 s', '2'],
    ]);
    const summary = await page.$eval('[data-panel="mongodb"] p.hint', (p) => p.textContent ?? '');
    assert.match(summary, /primary e2e-mongo-a/);
    assert.match(summary, /worst lag 45 s/);
    assert.match(summary, /shortest oplog window 24 h/);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('two nodes open side by side in the comparison, one series each', async () => {
  await ingestSystem('e2e-cmp-a', 12, 10);
  await ingestSystem('e2e-cmp-b', 12, 60);
  const { page } = await app.openPage('/nodes?q=e2e-cmp&range=1h');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await page.waitForSelector('tr[data-node="e2e-cmp-b"]');
    // The fleet chart above the list is drawn first: its arrival moves the rows down, and a
    // click aimed before that would land on the chart.
    assert.equal(await chartPoints(page, 'Fleet CPU'), 24);
    await page.click('tr[data-node="e2e-cmp-a"] input[type=checkbox]');
    await page.click('tr[data-node="e2e-cmp-b"] input[type=checkbox]');
    await page.click('button[data-action=compare]');
    await page.waitForFunction(() => window.location.pathname === '/nodes/compare');
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('nodes'), 'e2e-cmp-a,e2e-cmp-b');
    assert.equal(url.searchParams.get('range'), '1h', 'the time range follows to the comparison');
    assert.equal(await chartPoints(page, 'CPU busy'), 24);
    const legend = await page.$eval('figure[data-chart="CPU busy"] .u-legend', (l) => l.textContent ?? '');
    assert.match(legend, /e2e-cmp-a/);
    assert.match(legend, /e2e-cmp-b/);
    await screenshot(page, 'compare');
  } finally {
    await page.close();
  }
});

test('an operator acknowledges a firing alert from the alerts page', async () => {
  const id = await firingAlert('E2E ack CPU', 'e2e-ack-node');
  await createTestUser(app.rt, 'e2e-operator', 'operator');
  const { page, problems } = await app.openPage('/alerts');
  try {
    await logIn(page, 'e2e-operator', TEST_USER_PASSWORD);
    const row = `tr[data-alert="${id}"]`;
    await page.waitForSelector(`${row} button[data-action=acknowledge]`);
    await page.click(`${row} button[data-action=acknowledge]`);
    await page.waitForFunction((s) => /acknowledged by e2e-operator/.test(document.querySelector(s)?.textContent ?? ''), { timeout: WAIT }, row);
    const after = await app.apiCall('GET', `/api/v1/alerts/${id}`, app.adminAuth);
    assert.equal((after.json as { status: string }).status, 'acknowledged');
    assert.equal((after.json as { acknowledgedBy: string }).acknowledgedBy, 'user:e2e-operator');
    assert.equal(await page.$(`${row} button[data-action=acknowledge]`), null, 'no acknowledge button on an acknowledged alert');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('an operator silences an alert for an hour (a silence on its labels) and resolves it', async () => {
  const id = await firingAlert('E2E silence CPU', 'e2e-silence-node');
  await createTestUser(app.rt, 'e2e-operator', 'operator');
  const labels = ((await app.apiCall('GET', `/api/v1/alerts/${id}`, app.adminAuth)).json as { labels: Record<string, string> }).labels;
  assert.ok(Object.keys(labels).length > 0, 'the alert has labels to match');
  const { page } = await app.openPage('/alerts');
  try {
    await logIn(page, 'e2e-operator', TEST_USER_PASSWORD);
    const row = `tr[data-alert="${id}"]`;
    await page.waitForSelector(`${row} select[data-action=silence]`);
    const before = Date.now();
    await page.select(`${row} select[data-action=silence]`, '1');
    await page.waitForFunction(() => /Silenced for 1 h/.test(document.querySelector('[role=status]')?.textContent ?? ''), { timeout: WAIT });
    const silences = (await app.apiCall('GET', '/api/v1/silences?active=true', app.adminAuth)).json as { items: { matchers: { name: string; op: string; value: string }[]; endsAt: string; createdBy: string }[] };
    const mine = silences.items.find((x) => x.matchers.some((m) => m.value === labels[m.name] && m.name === Object.keys(labels)[0]) && x.createdBy.includes('e2e-operator'));
    assert.ok(mine, JSON.stringify(silences.items));
    assert.deepEqual(
      mine.matchers.map((m) => [m.name, m.op, m.value]).sort(),
      Object.entries(labels).map(([k, v]) => [k, '=', v]).sort(),
    );
    const ends = new Date(mine.endsAt).getTime();
    assert.ok(ends >= before + 3_600_000 - 5_000 && ends <= Date.now() + 3_600_000 + 5_000, mine.endsAt);
    await page.click(`${row} button[data-action=resolve]`);
    await page.waitForFunction((s) => document.querySelector(s) === null, { timeout: WAIT }, row);
    assert.equal(((await app.apiCall('GET', `/api/v1/alerts/${id}`, app.adminAuth)).json as { status: string }).status, 'resolved');
  } finally {
    await page.close();
  }
});

test('a viewer sees the alert but no button to change it, and the API refuses the viewer', async () => {
  const id = await firingAlert('E2E viewer CPU', 'e2e-viewer-node');
  await createTestUser(app.rt, 'e2e-viewer', 'viewer');
  const { page } = await app.openPage('/alerts');
  try {
    await logIn(page, 'e2e-viewer', TEST_USER_PASSWORD);
    const row = `tr[data-alert="${id}"]`;
    await page.waitForSelector(row);
    assert.equal(await page.$(`${row} button[data-action=acknowledge]`), null);
    assert.equal(await page.$(`${row} button[data-action=resolve]`), null);
    assert.equal(await page.$(`${row} [data-action=silence]`), null);
    const viewer = await login(app.rt, 'e2e-viewer');
    const refused = await app.apiCall('POST', `/api/v1/alerts/${id}/acknowledge`, viewer.authorization);
    assert.equal(refused.status, 403);
    assert.equal((refused.json as { code: string }).code, 'FORBIDDEN');
    const still = await app.apiCall('GET', `/api/v1/alerts/${id}`, app.adminAuth);
    assert.equal((still.json as { status: string }).status, 'firing');
  } finally {
    await page.close();
  }
});

test('markup in a node name, a node label and an alert message is shown as text, never as elements', async () => {
  const host = '<img id="xss-host" src="x" onerror="window.__xss=1">';
  const label = '<b id="xss-label">bold</b>';
  const put = await app.apiCall('PUT', '/api/v1/nodes/e2e-xss-node', app.adminAuth, { hostname: host, labels: { note: label } });
  assert.ok(put.status === 200 || put.status === 201, JSON.stringify(put.json));
  const ruleName = '<img id="xss-rule" src="x" onerror="window.__xss=1">';
  const id = await firingAlert(ruleName, 'e2e-xss-node');
  const { page } = await app.openPage('/nodes/e2e-xss-node');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await page.waitForSelector('dl.facts');
    const facts = await page.$eval('dl.facts', (d) => d.textContent ?? '');
    assert.ok(facts.includes(host), facts);
    assert.ok(facts.includes(label), facts);
    await page.goto(`${app.base}/alerts`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector(`tr[data-alert="${id}"]`);
    const text = await page.$eval(`tr[data-alert="${id}"]`, (r) => r.textContent ?? '');
    assert.ok(text.includes(ruleName), text);
    const injected = await page.evaluate(() => ({
      elements: ['xss-host', 'xss-label', 'xss-rule'].filter((x) => document.getElementById(x) !== null),
      ran: (window as unknown as { __xss?: number }).__xss ?? null,
    }));
    assert.deepEqual(injected, { elements: [], ran: null });
  } finally {
    await page.close();
  }
});

test('when the session ends the login page shows, and after logging in the user is back on the same page', async () => {
  await createTestUser(app.rt, 'e2e-expiry', 'operator');
  const { page } = await app.openPage('/alerts?tab=history&tz=utc');
  try {
    await logIn(page, 'e2e-expiry', TEST_USER_PASSWORD);
    await expectHeading(page, 'Alerts');
    // The password changes elsewhere: every other session's refresh token is revoked and its access tokens refused.
    const other = await login(app.rt, 'e2e-expiry');
    const changed = await app.apiCall('POST', '/api/v1/auth/password', other.authorization, { currentPassword: TEST_USER_PASSWORD, newPassword: 'another-e2e-password-77' });
    assert.equal(changed.status, 200, JSON.stringify(changed.json));
    await page.click('button[aria-label="Refresh now"]');
    await page.waitForSelector('input[name=username]');
    const notice = await page.$eval('.login .notice', (n) => n.textContent ?? '');
    assert.match(notice, /session ended/i);
    assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/alerts?tab=history&tz=utc');
    await logIn(page, 'e2e-expiry', 'another-e2e-password-77');
    await expectHeading(page, 'Alerts');
    assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/alerts?tab=history&tz=utc');
    assert.equal(await page.$eval('[role=tab][aria-selected=true]', (b) => b.textContent), 'History');
  } finally {
    await page.close();
  }
});

test('screenshots of the main pages, light and dark', async () => {
  for (const [i, [id, role]] of [['mx-1', 'zonemta'], ['mx-2', 'zonemta'], ['mongo-1', 'mongodb'], ['web-1', 'wildduck']].entries()) await ingestSystem(id!, 60, 15 + i * 20, role);
  await firingAlert('High CPU on mongo-1', 'mongo-1');
  // An hour of mail: sent, delivered, a few bounced and deferred each minute (the overview's figures and charts).
  const now = Date.now();
  const events = Array.from({ length: 60 }, (_, m) =>
    (['sent', 'sent', 'sent', 'delivered', 'delivered', 'delivered', 'bounced', 'deferred'] as const).slice(0, 6 + (m % 3)).map((eventType, k) => ({
      eventType,
      timestamp: new Date(now - (59 - m) * 60_000 - k * 1000).toISOString(),
      mtaNode: m % 2 ? 'mx-1' : 'mx-2',
      fromDomain: 'example.com',
      toDomain: 'example.net',
    })),
  ).flat();
  const ingested = await app.apiCall('POST', '/api/v1/events/email', app.adminAuth, events);
  assert.equal(ingested.status, 200, JSON.stringify(ingested.json));
  assert.equal((await app.rt.jobs.runOnce('rollup-refresh')).outcome, 'ok');
  for (const theme of ['light', 'dark'] as const) {
    const { page, problems } = await app.openPage('/?range=1h', theme);
    try {
      await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
      await page.waitForSelector('.health-grid .cell');
      // Every figure loaded (a value still loading shows …).
      await page.waitForFunction(() => !document.querySelector('.stats')?.textContent?.includes('…'), { timeout: WAIT });
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), theme);
      await screenshot(page, `overview-${theme}`);
      if (theme === 'light') {
        await page.goto(`${app.base}/nodes?range=1h`, { waitUntil: 'domcontentloaded' });
        await page.waitForSelector('tr[data-node="mx-1"]');
        await screenshot(page, 'nodes');
        await page.goto(`${app.base}/nodes/mx-2?range=1h`, { waitUntil: 'domcontentloaded' });
        await chartPoints(page, 'Network');
        await screenshot(page, 'node');
        await page.goto(`${app.base}/alerts`, { waitUntil: 'domcontentloaded' });
        await page.waitForSelector('tr[data-alert]');
        await screenshot(page, 'alerts');
      }
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  }
});
