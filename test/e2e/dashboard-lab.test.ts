/**
 * The home-lab and agent-ledger pages of the dashboard in a real browser (test/support/browser.ts):
 * devices fed through the push API (the same parsers and tables as SSH collection),
 * configuration changes with their side-by-side diff, agent runs with their live event
 * stream, approvals, cost and the admin-only audit log. Each test makes its own devices,
 * tasks, runs and users (distinct names).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TEST_ADMIN_PASSWORD } from '../support/app.ts';
import { createTestUser, login, TEST_USER_PASSWORD } from '../support/auth.ts';
import { chartPoints, expectHeading, fitsPhone, logIn, screenshot, useBrowserApp, WAIT } from '../support/browser.ts';

const app = useBrowserApp();
const fixture = (f: string) => readFileSync(new URL(`../fixtures/homelab/${f}`, import.meta.url), 'utf8');

/** The outputs of the system commands of a small machine (docs/homelab.md §5). */
const SYSTEM = {
  stat: 'cpu  100 0 100 700 100 0 0 0 0 0\n',
  meminfo: 'MemTotal:        2000 kB\nMemAvailable:     500 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n',
  loadavg: '0.50 1.25 2.00 3/185 6207\n',
  netdev: 'Inter-|\n face |\n  eth0: 123456     100    2    0    0     0          0         0    654321     90    1    0    0     0       0          0\n',
  diskstats: '   8       0 sda 100 0 2000 10 50 0 4000 20 0 30 30 0 0 0 0\n',
  df: 'Filesystem     1-blocks      Used  Available Capacity Mounted on\n/dev/sda1     1000000    250000     750000      25% /\n',
};

/** One API call that must succeed (2xx): its JSON answer. */
async function ok(method: string, url: string, body?: unknown, auth = app.adminAuth) {
  const res = await fetch(`${app.base}${url}`, { method, headers: { authorization: auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A device registered by the admin (Opsdeck makes its key pair); nothing is collected over SSH in these tests. */
async function device(id: string): Promise<void> {
  await ok('POST', '/api/v1/devices', { id, address: '192.168.77.20', username: 'monitor', generate: true, deviceType: 'nas' });
}

/** What an injected element would leave behind: elements with these ids, or a script that ran. */
async function injected(page: import('puppeteer-core').Page, ids: string[]): Promise<{ elements: string[]; ran: number | null }> {
  return page.evaluate((list) => ({
    elements: list.filter((x) => document.getElementById(x) !== null),
    ran: (window as unknown as { __xss?: number }).__xss ?? null,
  }), ids);
}

test("a device's page shows its last collection, its containers (markup in a name as text) and a drive's SMART state and history", async () => {
  await device('e2e-lab-nas');
  const evil = '<img id="xss-ctr" src="x" onerror="window.__xss=1">';
  const dockerPs = [
    { ID: 'c0ffee000001', Image: 'nginx:1.27', Names: 'web', State: 'running', Status: 'Up 3 hours' },
    { ID: 'c0ffee000002', Image: 'redis:7', Names: evil, State: 'restarting', Status: 'Restarting (1) 5 seconds ago' },
  ].map((c) => JSON.stringify(c)).join('\n');
  const pushed = await ok('POST', '/api/v1/devices/e2e-lab-nas/push', {
    system: SYSTEM,
    containers: { dockerPs },
    drives: [{ name: '/dev/sdb', smartctl: fixture('smartctl-WDC_WD20EFRX-68EUZN0_17.json') }],
  });
  assert.deepEqual(pushed.data.map((o: { dataType: string; status: string }) => [o.dataType, o.status]), [['system', 'success'], ['containers', 'success'], ['drives', 'success']]);
  // A second SMART reading in which 8 sectors were reallocated (ATA attribute 5, raw); none pending.
  const smart = JSON.parse(fixture('smartctl-WDC_WD20EFRX-68EUZN0_17.json'));
  smart.ata_smart_attributes.table.find((a: { id: number }) => a.id === 5).raw = { value: 8, string: '8' };
  await ok('POST', '/api/v1/devices/e2e-lab-nas/push', { drives: [{ name: '/dev/sdb', smartctl: JSON.stringify(smart) }] });
  const { page, problems } = await app.openPage('/lab?range=24h');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await expectHeading(page, 'Home lab');
    await page.waitForSelector('tr[data-device="e2e-lab-nas"]');
    assert.match(await page.$eval('tr[data-device="e2e-lab-nas"]', (r) => r.textContent ?? ''), /ok/);
    await page.click('tr[data-device="e2e-lab-nas"] a');
    await page.waitForFunction(() => window.location.pathname === '/lab/devices/e2e-lab-nas');
    await expectHeading(page, 'e2e-lab-nas');
    // Containers: the two pushed, the injected name shown as text.
    await page.waitForSelector('tr[data-container="c0ffee000002"]');
    const evilRow = await page.$eval('tr[data-container="c0ffee000002"]', (r) => r.textContent ?? '');
    assert.ok(evilRow.includes(evil), evilRow);
    assert.match(evilRow, /restarting/);
    assert.match(evilRow, /Restarting \(1\) 5 seconds ago/);
    assert.match(await page.$eval('tr[data-container="c0ffee000001"]', (r) => r.textContent ?? ''), /nginx:1\.27.*running/);
    // The drive of the smartctl fixture: healthy (smart_status.passed), 34 °C, and its history charted.
    await page.waitForSelector('tr[data-drive="/dev/sdb"]');
    assert.equal(await page.$eval('tr[data-drive="/dev/sdb"] td[data-smart]', (td) => td.textContent), 'PASSED');
    assert.match(await page.$eval('tr[data-drive="/dev/sdb"]', (r) => r.textContent ?? ''), /34 °C/);
    assert.match(await page.$eval('tr[data-drive="/dev/sdb"]', (r) => r.textContent ?? ''), /PASSED34 °C47,657 h80/);
    assert.equal(await chartPoints(page, '/dev/sdb temperature'), 2);
    assert.equal(await chartPoints(page, '/dev/sdb reallocated sectors'), 2);
    // Pending sectors stayed 0: said in words, not drawn.
    assert.equal(await page.$('figure[data-chart="/dev/sdb pending sectors"]'), null);
    assert.match(await page.$eval('[data-drive-charts="/dev/sdb"] .hint', (p) => p.textContent ?? ''), /^Pending sectors: 0 in every sample/);
    // The collections of the two pushes, each with its outcome.
    await page.waitForSelector('table[data-table=collections] tr[data-operation]');
    assert.equal((await page.$$('table[data-table=collections] tr[data-operation]')).length, 4);
    // An admin may collect now.
    assert.notEqual(await page.$('button[data-action=collect]'), null);
    assert.deepEqual(await injected(page, ['xss-ctr']), { elements: [], ran: null });
    await screenshot(page, 'lab-device');
    await fitsPhone(page);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('a viewer sees a device without the collect-now form; collect now validates its data types before sending', async () => {
  await device('e2e-lab-pi');
  await createTestUser(app.rt, 'e2e-lab-viewer', 'viewer');
  const { page } = await app.openPage('/lab/devices/e2e-lab-pi');
  try {
    await logIn(page, 'e2e-lab-viewer', TEST_USER_PASSWORD);
    await page.waitForSelector('dl.facts-grid');
    assert.equal(await page.$('form[data-form=collect]'), null);
    const viewer = await login(app.rt, 'e2e-lab-viewer');
    assert.equal((await app.apiCall('POST', '/api/v1/devices/e2e-lab-pi/collect', viewer.authorization, {})).status, 403);
  } finally {
    await page.close();
  }
  const admin = await app.openPage('/lab/devices/e2e-lab-pi');
  try {
    await logIn(admin.page, 'admin', TEST_ADMIN_PASSWORD);
    await admin.page.waitForSelector('form[data-form=collect]');
    for (const box of await admin.page.$$('form[data-form=collect] input[name=dataTypes]')) await box.click();
    await admin.page.click('button[data-action=collect]');
    await admin.page.waitForSelector('form[data-form=collect] .field-error');
    assert.match(await admin.page.$eval('form[data-form=collect] .field-error', (e) => e.textContent ?? ''), /at least one data type/);
    const audit = await ok('GET', '/api/v1/collection/audit?device_id=e2e-lab-pi');
    assert.equal(audit.total, 0, 'nothing was sent, nothing collected');
  } finally {
    await admin.page.close();
  }
});

test('a configuration change shows its risk and restart need, and a side-by-side diff with the added line marked (file lines as text)', async () => {
  await device('e2e-lab-cfg');
  const path = '/etc/ssh/sshd_config';
  const before = 'Port 22\nPermitRootLogin no\nPasswordAuthentication no\n# <b id="xss-old">old</b>\n';
  const evilLine = '# <img id="xss-conf" src="x" onerror="window.__xss=1">';
  const after = `Port 22\nPermitRootLogin yes\nPasswordAuthentication no\n# <b id="xss-old">old</b>\n${evilLine}\n`;
  await ok('POST', '/api/v1/devices/e2e-lab-cfg/push', { configFiles: [{ path, content: before }] });
  await ok('POST', '/api/v1/devices/e2e-lab-cfg/push', { configFiles: [{ path, content: after }] });
  const changes = await ok('GET', '/api/v1/config-changes?nodeId=e2e-lab-cfg');
  assert.equal(changes.total, 1);
  const change = changes.items[0];
  const { page, problems } = await app.openPage('/lab/configs?range=24h');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await expectHeading(page, 'Configuration changes');
    const row = `tr[data-change="${change.id}"]`;
    await page.waitForSelector(row);
    const text = await page.$eval(row, (r) => r.textContent ?? '');
    // PermitRootLogin is an sshd access key: HIGH, and sshd needs a restart.
    assert.match(text, /HIGH/);
    assert.match(text, /restart: sshd/);
    await page.click(`${row} td.wrap a`);
    await page.waitForFunction(() => window.location.pathname === '/lab/devices/e2e-lab-cfg/configs');
    await page.waitForSelector('table[data-diff=side-by-side]');
    const marked = await page.$$eval('table[data-diff=side-by-side] tr', (rows) =>
      rows.map((r) => [r.querySelector('td.removed')?.textContent ?? null, r.querySelector('td.added')?.textContent ?? null]).filter(([o, n]) => o !== null || n !== null),
    );
    // The changed line side by side (old removed, new added), then the added line alone on the right.
    assert.deepEqual(marked, [
      ['PermitRootLogin no', 'PermitRootLogin yes'],
      [null, evilLine],
    ]);
    // Unchanged lines are on both sides, unmarked.
    const context = await page.$$eval('table[data-diff=side-by-side] tr.context td[data-side=new]', (tds) => tds.map((td) => td.textContent));
    assert.ok(context.includes('Port 22') && context.includes('# <b id="xss-old">old</b>'), JSON.stringify(context));
    assert.deepEqual(await injected(page, ['xss-conf', 'xss-old']), { elements: [], ran: null });
    await screenshot(page, 'lab-config-diff');
    await fitsPhone(page);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

/** A task and a run of it by `agent`, started; returns the run's id. */
async function runningRun(title: string, agent: string): Promise<number> {
  const task = await ok('POST', '/api/v1/tasks', { title, prompt: `${title}: do it carefully` });
  const run = await ok('POST', `/api/v1/tasks/${task.id}/runs`, { agent });
  await ok('POST', `/api/v1/runs/${run.id}/transitions`, { to: 'running' });
  return run.id;
}

test("a run's events show, a new one appears without a reload while it runs, and the end of the run shows", async () => {
  const id = await runningRun('E2E live run', 'e2e-agent/1');
  await ok('POST', `/api/v1/runs/${id}/events`, { items: [{ kind: 'message', message: 'checking the pods' }, { kind: 'log', message: 'kubectl get pods -n media' }] });
  const { page, problems } = await app.openPage(`/agents/runs/${id}`);
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await expectHeading(page, `Run #${id}`);
    await page.waitForSelector('[data-live]');
    // seq 1 and 2 are the run's states (queued, running), then the two messages.
    await page.waitForSelector('.event[data-seq="4"]');
    const lines = await page.$$eval('.window .event', (rows) => rows.map((r) => [r.getAttribute('data-seq'), r.querySelector('.badge')?.textContent, r.querySelector('.msg')?.textContent]));
    assert.deepEqual(lines, [['1', 'state', 'queued'], ['2', 'state', 'running'], ['3', 'message', 'checking the pods'], ['4', 'log', 'kubectl get pods -n media']]);
    await page.evaluate(() => ((window as unknown as { __same?: boolean }).__same = true));
    await ok('POST', `/api/v1/runs/${id}/events`, { items: [{ kind: 'error', message: 'pod plex-0 is <b id="xss-ev">crashlooping</b>' }] });
    await page.waitForSelector('.event[data-seq="5"]');
    assert.equal(await page.$eval('.event[data-seq="5"] .msg', (m) => m.textContent), 'pod plex-0 is <b id="xss-ev">crashlooping</b>');
    assert.equal(await page.evaluate(() => (window as unknown as { __same?: boolean }).__same), true, 'the page was not reloaded');
    await screenshot(page, 'agent-run');
    await fitsPhone(page);
    await ok('POST', `/api/v1/runs/${id}/transitions`, { to: 'succeeded' });
    await page.waitForFunction(() => /succeeded/.test(document.querySelector('[data-run-status]')?.textContent ?? ''), { timeout: WAIT });
    await page.waitForSelector('.event[data-seq="6"]');
    await page.waitForFunction(() => document.querySelector('[data-live]') === null, { timeout: WAIT });
    assert.deepEqual(await injected(page, ['xss-ev']), { elements: [], ran: null });
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test("a run with thousands of events keeps only the rows in view in the page, following the end of the log", async () => {
  const id = await runningRun('E2E long run', 'e2e-long-agent');
  for (let b = 0; b < 4; b++) {
    await ok('POST', `/api/v1/runs/${id}/events`, { items: Array.from({ length: 500 }, (_, i) => ({ kind: 'log', message: `line ${b * 500 + i + 1}` })) });
  }
  await ok('POST', `/api/v1/runs/${id}/transitions`, { to: 'succeeded' });
  const { page } = await app.openPage(`/agents/runs/${id}`);
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    // 2 states, 2000 lines, the end state: 2003 events; the view follows the end.
    await page.waitForSelector('.event[data-seq="2003"]');
    assert.equal(await page.$eval('h2 small', (s) => s.textContent), '2003');
    const rows = await page.$$eval('.window .row', (r) => r.length);
    assert.ok(rows > 0 && rows < 60, `${rows} rows in the DOM`);
    assert.equal(await page.$('.event[data-seq="1"]'), null, 'the first rows are out of view, so not in the page');
    // Scrolled to the top, the first rows are drawn instead.
    await page.$eval('.window', (w) => w.scrollTo(0, 0));
    await page.waitForSelector('.event[data-seq="1"]');
    assert.equal(await page.$('.event[data-seq="2003"]'), null);
  } finally {
    await page.close();
  }
});

test("the runs list shows each run's task, agent, status and cost; the cost page charts it by day with its unit", async () => {
  const id = await runningRun('E2E priced run', 'e2e-cost-agent');
  // gpt-4o (seeded price: 2.50 USD per 1M input tokens, 10 per 1M output): 1M in + 100k out = 2.50 + 1.00.
  await ok('POST', `/api/v1/runs/${id}/llm-calls`, { items: [{ provider: 'openai', model: 'gpt-4o', usage: { inputTokens: 1_000_000, outputTokens: 100_000 } }] });
  const { page } = await app.openPage('/agents?agent=e2e-cost-agent');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    const row = `tr[data-run="${id}"]`;
    await page.waitForSelector(row);
    const cells = await page.$$eval(`${row} td`, (tds) => tds.map((td) => td.textContent));
    assert.equal(cells[1], 'running');
    assert.equal(cells[2], 'e2e-cost-agent');
    assert.equal(cells[3], 'E2E priced run');
    assert.equal(cells[5], '$3.50');
    await page.goto(`${app.base}/agents/usage?range=24h`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('table[data-table=cost-agent] tr[data-key="e2e-cost-agent"]');
    assert.match(await page.$eval('table[data-table=cost-agent] tr[data-key="e2e-cost-agent"]', (r) => r.textContent ?? ''), /\$3\.50/);
    assert.ok((await chartPoints(page, 'Cost per day')) >= 1);
    assert.equal(await page.$eval('figure[data-chart="Cost per day"] .unit', (u) => u.textContent), 'USD');
    await screenshot(page, 'agent-usage');
  } finally {
    await page.close();
  }
});

test('a held tool call waits for an operator: the reason is checked before sending, then the approval continues the run; a viewer gets no buttons', async () => {
  await ok('PUT', '/api/v1/tools/e2e-restart-workload', { description: 'restart a workload', argsSchema: { type: 'object', properties: { name: { type: 'string' } } }, riskLevel: 'high' });
  await ok('POST', '/api/v1/policies', { name: 'e2e restarts need an operator', toolName: 'e2e-restart-workload', approverRole: 'operator' });
  const id = await runningRun('E2E held restart', 'e2e-approval-agent');
  const call = await ok('POST', `/api/v1/runs/${id}/tool-calls`, { tool: 'e2e-restart-workload', arguments: { name: 'media/plex' } });
  assert.equal(call.approval, 'pending');
  await createTestUser(app.rt, 'e2e-lab-viewer', 'viewer');
  await createTestUser(app.rt, 'e2e-lab-operator', 'operator');
  const card = `article[data-approval="${call.id}"]`;
  const viewer = await app.openPage('/agents/approvals');
  try {
    await logIn(viewer.page, 'e2e-lab-viewer', TEST_USER_PASSWORD);
    await expectHeading(viewer.page, 'Approvals');
    await viewer.page.waitForFunction(() => /higher role/.test(document.querySelector('main')?.textContent ?? ''), { timeout: WAIT });
    assert.equal(await viewer.page.$(card), null);
    assert.equal(await viewer.page.$('button[data-action=approve]'), null);
  } finally {
    await viewer.page.close();
  }
  const { page, problems } = await app.openPage('/agents/approvals');
  try {
    await logIn(page, 'e2e-lab-operator', TEST_USER_PASSWORD);
    await page.waitForSelector(`${card} button[data-action=approve]`);
    assert.match(await page.$eval(card, (c) => c.textContent ?? ''), /media\/plex/);
    await page.click(`${card} button[data-action=approve]`);
    await page.waitForSelector(`${card} .field-error`);
    assert.match(await page.$eval(`${card} .field-error`, (e) => e.textContent ?? ''), /reason/i);
    assert.equal((await ok('GET', `/api/v1/tool-calls/${call.id}`)).approval, 'pending', 'nothing sent without a reason');
    await page.type(`${card} input[name=reason]`, 'checked the plex pod');
    await page.click(`${card} button[data-action=approve]`);
    await page.waitForFunction((s) => document.querySelector(s) === null, { timeout: WAIT }, card);
    const decided = await ok('GET', `/api/v1/tool-calls/${call.id}`);
    assert.deepEqual([decided.approval, decided.decidedBy, decided.decisionReason], ['approved', 'e2e-lab-operator', 'checked the plex pod']);
    assert.equal((await ok('GET', `/api/v1/runs/${id}`)).status, 'running');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test("a decision the API refuses shows the API's problem next to the form (a call decided meanwhile by someone else)", async () => {
  await ok('PUT', '/api/v1/tools/e2e-drain-node', { description: 'drain a node', argsSchema: { type: 'object' }, riskLevel: 'critical' });
  await ok('POST', '/api/v1/policies', { name: 'e2e drains need an operator', toolName: 'e2e-drain-node', approverRole: 'operator' });
  const id = await runningRun('E2E drain', 'e2e-drain-agent');
  const call = await ok('POST', `/api/v1/runs/${id}/tool-calls`, { tool: 'e2e-drain-node', arguments: { node: 'k8s-3' } });
  await createTestUser(app.rt, 'e2e-lab-operator', 'operator');
  const card = `article[data-approval="${call.id}"]`;
  const { page } = await app.openPage('/agents/approvals?refresh=off');
  try {
    await logIn(page, 'e2e-lab-operator', TEST_USER_PASSWORD);
    await page.waitForSelector(`${card} input[name=reason]`);
    await ok('POST', `/api/v1/tool-calls/${call.id}/reject`, { reason: 'not during business hours' });
    await page.type(`${card} input[name=reason]`, 'go ahead');
    await page.click(`${card} button[data-action=approve]`);
    await page.waitForSelector(`${card} p.error`);
    assert.match(await page.$eval(`${card} p.error`, (p) => p.textContent ?? ''), /^TOOL_CALL_NOT_PENDING: /);
    assert.equal((await ok('GET', `/api/v1/tool-calls/${call.id}`)).approval, 'rejected');
  } finally {
    await page.close();
  }
});

test('the audit log is linked for admins only, and the API refuses it to others', async () => {
  await createTestUser(app.rt, 'e2e-lab-operator', 'operator');
  const op = await app.openPage('/agents');
  try {
    await logIn(op.page, 'e2e-lab-operator', TEST_USER_PASSWORD);
    await op.page.waitForSelector('nav.subnav a[href^="/agents/usage"]');
    assert.equal(await op.page.$('a[href^="/agents/audit"]'), null);
    const operator = await login(app.rt, 'e2e-lab-operator');
    const refused = await app.apiCall('GET', '/api/v1/audit', operator.authorization);
    assert.equal(refused.status, 403);
    assert.equal((refused.json as { code: string }).code, 'FORBIDDEN');
  } finally {
    await op.page.close();
  }
  const { page } = await app.openPage('/agents?range=24h');
  try {
    await logIn(page, 'admin', TEST_ADMIN_PASSWORD);
    await page.waitForSelector('nav.subnav a[href^="/agents/audit"]');
    await page.click('nav.subnav a[href^="/agents/audit"]');
    await expectHeading(page, 'Audit log');
    await page.waitForSelector('table[data-table=audit] tr[data-audit]');
  } finally {
    await page.close();
  }
});
