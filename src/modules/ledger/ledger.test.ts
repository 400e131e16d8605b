/**
 * The agent operations ledger over HTTP, on every backend: inventory, run
 * transitions (each allowed and each refused one), the event log and its SSE
 * stream with Last-Event-ID, artifacts, LLM usage and cost (against figures
 * computed by hand here), tools with schema validation, the approval flow, the
 * views, and the audit trail that the database keeps append-only.
 *
 * Each test makes its own task, runs, tools and price entries (unique names),
 * so none depends on another's data.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { enabledBackends } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { createApiKey, loginAs } from '../../../test/support/auth.ts';
import { DatabaseQueryError } from '../../db/database.ts';
import { recordAudit } from './audit.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const uid = () => randomBytes(4).toString('hex');

for (const kind of enabledBackends()) {
  describe(`agent ledger [${kind}]`, () => {
    let rt: TestRuntime;
    let admin: string;
    let operator: string;
    let viewer: string;
    let agent: string;

    const call = (method: Method, url: string, authorization: string, payload?: unknown, headers: Record<string, string> = {}) =>
      rt.app.inject({ method, url, headers: { authorization, ...headers }, ...(payload === undefined ? {} : { payload: payload as object }) });
    const ok = async (method: Method, url: string, authorization: string, payload?: unknown, status = [200, 201]) => {
      const r = await call(method, url, authorization, payload);
      assert.ok(status.includes(r.statusCode), `${method} ${url}: ${r.statusCode} ${r.body}`);
      return r.json();
    };
    /** A task and a queued run of it; optionally on a node. */
    const newRun = async (opts: { node?: string; agentName?: string } = {}) => {
      const t = await ok('POST', '/api/v1/tasks', agent, { title: `Restart Plex ${uid()}`, prompt: 'Restart Plex and verify health', ...(opts.node ? { node: opts.node } : {}) });
      return ok('POST', `/api/v1/tasks/${t.id}/runs`, agent, { agent: opts.agentName ?? 'claude-agent/1.0' });
    };
    const move = (runId: number, to: string, extra: Record<string, unknown> = {}) => call('POST', `/api/v1/runs/${runId}/transitions`, agent, { to, ...extra });
    const count = async (sql: string, params: unknown[]) => (await rt.db.queryOne<{ n: number }>(sql, params))!.n;

    before(async () => {
      rt = await buildTestRuntime(kind);
      admin = await loginAs(rt, 'admin');
      operator = await loginAs(rt, 'operator');
      viewer = await loginAs(rt, 'viewer');
      agent = `Bearer ${await createApiKey(rt, ['ingest'], { name: 'agent-key' })}`;
    });
    after(async () => {
      await rt.destroy();
    });

    test('hosts are nodes: type and cluster become node labels; workloads and services register, list and update', async () => {
      const name = `pedro-${uid()}`;
      const h = await ok('POST', '/api/v1/hosts', agent, { name, type: 'k8s-node', cluster: 'k8s-prod', addresses: { lan: '192.168.50.20' } });
      assert.deepEqual([h.name, h.type, h.cluster, h.addresses], [name, 'k8s-node', 'k8s-prod', { lan: '192.168.50.20' }]);
      const node = await ok('GET', `/api/v1/nodes/${name}`, viewer);
      assert.deepEqual(node.labels, { type: 'k8s-node', cluster: 'k8s-prod' }, 'the same inventory row, seen as a node');
      // Re-registering merges labels, keeps what is not sent.
      await ok('POST', '/api/v1/hosts', agent, { name, labels: { env: 'prod' } });
      const listed = await ok('GET', `/api/v1/hosts?cluster=k8s-prod&type=k8s-node&pageSize=500`, viewer);
      const mine = listed.items.find((x: { name: string }) => x.name === name);
      assert.deepEqual(mine.labels, { type: 'k8s-node', cluster: 'k8s-prod', env: 'prod' });

      const svc = await ok('POST', '/api/v1/services', agent, { name: `media-${uid()}`, labels: { team: 'home' } });
      const dup = await call('POST', '/api/v1/services', agent, { name: svc.name });
      assert.equal(dup.statusCode, 409);
      assert.equal(dup.json().code, 'SERVICE_NAME_TAKEN');

      const wl = await call('POST', '/api/v1/workloads', agent, { kind: 'deployment', name: `plex-${uid()}`, node: name, serviceId: svc.id, status: 'running', spec: { image: 'plexinc/pms-docker', replicas: 1 } });
      assert.equal(wl.statusCode, 201, wl.body);
      const w = wl.json();
      assert.deepEqual([w.node, w.serviceId, w.status, w.spec.replicas], [name, svc.id, 'running', 1]);
      const again = await call('POST', '/api/v1/workloads', agent, { kind: 'deployment', name: w.name, status: 'pending' });
      assert.equal(again.statusCode, 200, 'the same kind and name updates');
      assert.deepEqual([again.json().id, again.json().node, again.json().status], [w.id, name, 'pending']);
      const patched = await ok('PATCH', `/api/v1/workloads/${w.id}`, agent, { status: 'stopped', labels: { tier: 'media' } });
      assert.deepEqual([patched.status, patched.labels], ['stopped', { tier: 'media' }]);
      const byService = await ok('GET', `/api/v1/workloads?serviceId=${svc.id}`, viewer);
      assert.deepEqual(byService.items.map((x: { id: number }) => x.id), [w.id]);
      assert.equal((await ok('GET', `/api/v1/services?name=${svc.name}`, viewer)).items[0].workloads, 1);

      // An unknown node is 400 naming the field, and nothing is written.
      const before = await count('SELECT count(*)::int AS n FROM workloads', []);
      const bad = await call('POST', '/api/v1/workloads', agent, { kind: 'pod', name: `ghost-${uid()}`, node: 'no-such-node' });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().code, 'UNKNOWN_NODE');
      assert.deepEqual(bad.json().errors.map((e: { path: string }) => e.path), ['body.node']);
      const badKind = await call('POST', '/api/v1/workloads', agent, { kind: 'vmware', name: 'x' });
      assert.equal(badKind.statusCode, 400);
      assert.ok(badKind.json().errors.some((e: { path: string }) => e.path === 'body.kind'), badKind.body);
      assert.equal(await count('SELECT count(*)::int AS n FROM workloads', []), before);
    });

    test('run transitions: each allowed step stamps its time and logs a state event; each refused one is 409 with a stable code', async () => {
      const r = await newRun();
      assert.equal(r.status, 'queued');
      assert.equal(r.lastEventSeq, 1, 'the queued state is event 1');

      const skip = await move(r.id, 'succeeded');
      assert.equal(skip.statusCode, 409);
      assert.equal(skip.json().code, 'RUN_TRANSITION_INVALID');
      assert.deepEqual([skip.json().from, skip.json().to], ['queued', 'succeeded']);
      assert.match(skip.json().detail, /skips running/);
      assert.equal((await move(r.id, 'failed')).json().code, 'RUN_TRANSITION_INVALID');

      const started = await move(r.id, 'running');
      assert.equal(started.statusCode, 200, started.body);
      assert.ok(started.json().startedAt);
      assert.equal((await move(r.id, 'running')).json().code, 'RUN_TRANSITION_INVALID', 'running → running');
      const done = (await move(r.id, 'succeeded')).json();
      assert.equal(done.status, 'succeeded');
      assert.ok(done.succeededAt && done.succeededAt >= done.startedAt && done.startedAt >= done.queuedAt);

      for (const to of ['running', 'failed', 'cancelled', 'succeeded']) {
        const again = await move(r.id, to);
        assert.equal(again.statusCode, 409, to);
        assert.equal(again.json().code, 'RUN_FINISHED', to);
      }
      const events = (await ok('GET', `/api/v1/runs/${r.id}/events`, viewer)).items;
      assert.deepEqual(
        events.map((e: { seq: number; kind: string; message: string }) => [e.seq, e.kind, e.message]),
        [
          [1, 'state', 'queued'],
          [2, 'state', 'running'],
          [3, 'state', 'succeeded'],
        ],
      );

      const c1 = await newRun();
      const cancelled = (await move(c1.id, 'cancelled')).json();
      assert.deepEqual([cancelled.status, cancelled.startedAt === null, cancelled.cancelledAt !== null], ['cancelled', true, true]);
      const c2 = await newRun();
      await move(c2.id, 'running');
      const failed = (await move(c2.id, 'failed', { error: 'plex did not come back' })).json();
      assert.deepEqual([failed.status, failed.error, failed.failedAt !== null], ['failed', 'plex did not come back', true]);
      assert.equal((await move(c2.id, 'running')).json().code, 'RUN_FINISHED');
      assert.equal((await call('POST', `/api/v1/runs/${c2.id}/events`, agent, { items: [{ kind: 'log', message: 'late' }] })).json().code, 'RUN_FINISHED');

      const unknown = await move(987654321, 'running');
      assert.deepEqual([unknown.statusCode, unknown.json().code], [404, 'RUN_NOT_FOUND']);
      const badTarget = await call('POST', `/api/v1/runs/${c1.id}/transitions`, agent, { to: 'awaiting_approval' });
      assert.equal(badTarget.statusCode, 400, 'awaiting_approval is reached by a tool call only');
    });

    test('the event stream (SSE): a finished run streams all its events and ends; Last-Event-ID resumes after that event', async () => {
      const r = await newRun();
      await move(r.id, 'running');
      const appended = await ok('POST', `/api/v1/runs/${r.id}/events`, agent, {
        items: [{ kind: 'message', message: 'restarting plex' }, { kind: 'log', message: 'kubectl rollout restart', data: { ns: 'media' } }, { kind: 'error', message: 'probe failed once' }],
      });
      assert.deepEqual([appended.firstSeq, appended.lastSeq], [3, 5]);
      await move(r.id, 'succeeded');

      const full = await rt.app.inject({ method: 'GET', url: `/api/v1/runs/${r.id}/events/stream`, headers: { authorization: viewer } });
      assert.equal(full.statusCode, 200);
      assert.match(String(full.headers['content-type']), /^text\/event-stream/);
      const ids = (body: string) => [...body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
      assert.deepEqual(ids(full.body), [1, 2, 3, 4, 5, 6]);
      assert.match(full.body, /^event: log\ndata: \{"seq":4,.*"message":"kubectl rollout restart"/m);

      const resumed = await rt.app.inject({ method: 'GET', url: `/api/v1/runs/${r.id}/events/stream`, headers: { authorization: viewer, 'last-event-id': '4' } });
      assert.deepEqual(ids(resumed.body), [5, 6]);
      const atEnd = await rt.app.inject({ method: 'GET', url: `/api/v1/runs/${r.id}/events/stream`, headers: { authorization: viewer, 'last-event-id': '6' } });
      assert.deepEqual(ids(atEnd.body), []);
      assert.equal((await rt.app.inject({ method: 'GET', url: '/api/v1/runs/987654321/events/stream', headers: { authorization: viewer } })).statusCode, 404);
    });

    test('the event stream of a live run delivers events as they are appended and ends when the run finishes', { timeout: 60_000 }, async () => {
      const r = await newRun();
      await move(r.id, 'running');
      await rt.app.listen({ port: 0, host: '127.0.0.1' });
      const port = (rt.app.server.address() as AddressInfo).port;
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/runs/${r.id}/events/stream`, { headers: { authorization: viewer, 'last-event-id': '1' } });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      const readUntil = async (pred: (t: string) => boolean) => {
        while (!pred(text)) {
          const { done, value } = await reader.read();
          if (done) return true;
          text += decoder.decode(value, { stream: true });
        }
        return false;
      };
      await readUntil((t) => t.includes('id: 2\n'));
      assert.ok(!text.includes('id: 1\n'), 'resumed after event 1');
      await ok('POST', `/api/v1/runs/${r.id}/events`, agent, { items: [{ kind: 'message', message: 'live one' }] });
      await readUntil((t) => t.includes('id: 3\n'));
      assert.match(text, /live one/);
      await move(r.id, 'succeeded');
      const ended = await readUntil(() => false);
      assert.equal(ended, true, 'the stream ends once the run finished');
      assert.deepEqual([...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])), [2, 3, 4]);
    });

    test('artifacts: size, media type and SHA-256 kept with the content; over the limit → 413 with nothing written', async () => {
      const r = await newRun();
      await move(r.id, 'running');
      const a = await ok('POST', `/api/v1/runs/${r.id}/artifacts`, agent, { name: '../../etc/passwd', mediaType: 'text/plain', contentBase64: Buffer.from('hello').toString('base64') });
      // sha256("hello"), a published test vector.
      assert.equal(a.sha256, '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
      assert.deepEqual([a.sizeBytes, a.mediaType, a.name], [5, 'text/plain', '../../etc/passwd']);
      const content = await rt.app.inject({ method: 'GET', url: `/api/v1/artifacts/${a.id}/content`, headers: { authorization: viewer } });
      assert.equal(content.body, 'hello');
      assert.match(String(content.headers['content-disposition']), /^attachment; filename="artifact-\d+"$/);
      assert.equal((await ok('GET', `/api/v1/runs/${r.id}/artifacts`, viewer)).items.length, 1);

      const big = await call('POST', `/api/v1/runs/${r.id}/artifacts`, agent, { name: 'big.bin', contentBase64: Buffer.alloc(4 * 1024 * 1024 + 1).toString('base64') });
      assert.equal(big.statusCode, 413, big.body.slice(0, 200));
      assert.equal(big.json().code, 'ARTIFACT_TOO_LARGE');
      const fits = await call('POST', `/api/v1/runs/${r.id}/artifacts`, agent, { name: 'fits.bin', contentBase64: Buffer.alloc(4 * 1024 * 1024).toString('base64') });
      assert.equal(fits.statusCode, 201);
      assert.equal(await count('SELECT count(*)::int AS n FROM artifacts WHERE run_id = $1', [r.id]), 2);
      const notB64 = await call('POST', `/api/v1/runs/${r.id}/artifacts`, agent, { name: 'x', contentBase64: 'not base64!' });
      assert.equal(notB64.statusCode, 400);
      assert.ok(notB64.json().errors.some((e: { path: string }) => e.path === 'body.contentBase64'));
    });

    test('LLM cost: the table price of the most specific pattern, computed by hand here; a client price overrides it and says so', async () => {
      const host = `cost-host-${uid()}`;
      await ok('POST', '/api/v1/hosts', agent, { name: host });
      const r = await newRun({ agentName: `cost-agent-${uid()}`, node: host });
      await move(r.id, 'running');
      const res = await ok('POST', `/api/v1/runs/${r.id}/llm-calls`, agent, {
        items: [
          // gpt-4o list price: 2.50 input, 1.25 cached input, 10.00 output per 1M tokens.
          { provider: 'openai', model: 'gpt-4o-2024-08-06', usage: { inputTokens: 12_000, cachedInputTokens: 2_000, outputTokens: 3_000 } },
          // gpt-4o-mini (0.15 / 0.075 / 0.60), not gpt-4o: the longer pattern wins.
          { provider: 'openai', model: 'gpt-4o-mini-2024-07-18', usage: { inputTokens: 1_000, outputTokens: 500 } },
          // claude-sonnet-4-5 (3.00 / 0.30 / 15.00); reasoning tokens are part of the output, not billed twice.
          { provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', usage: { inputTokens: 20_000, cachedInputTokens: 15_000, outputTokens: 2_000, reasoningTokens: 800 } },
          // A client price overrides the table.
          { provider: 'openai', model: 'gpt-4o', usage: { inputTokens: 1_000_000, outputTokens: 500_000 }, price: { inputPerMTok: 1, outputPerMTok: 2 } },
        ],
      });
      const u = res.items;
      // (10,000 × 2.50 + 2,000 × 1.25 + 3,000 × 10.00) / 10⁶ = (25,000 + 2,500 + 30,000) / 10⁶
      assert.equal(u[0].cost, 0.0575);
      assert.equal(u[0].priceSource, 'table');
      const gpt4o = await rt.db.queryOne<{ id: number }>(`SELECT id FROM provider_pricing WHERE provider = 'openai' AND model_pattern = 'gpt-4o'`);
      assert.equal(u[0].pricingId, gpt4o!.id);
      // (1,000 × 0.15 + 500 × 0.60) / 10⁶ = 450 / 10⁶
      assert.equal(u[1].cost, 0.00045);
      // (5,000 × 3.00 + 15,000 × 0.30 + 2,000 × 15.00) / 10⁶ = (15,000 + 4,500 + 30,000) / 10⁶
      assert.equal(u[2].cost, 0.0495);
      assert.equal(u[2].reasoningTokens, 800);
      // 1,000,000 × 1 / 10⁶ + 500,000 × 2 / 10⁶
      assert.deepEqual([u[3].cost, u[3].priceSource, u[3].pricingId, u[3].inputPerMTok, u[3].outputPerMTok], [2, 'client', null, 1, 2]);
      const stored = await rt.db.queryMany<{ price_source: string; cost: number }>('SELECT price_source, cost FROM token_usage WHERE run_id = $1 ORDER BY id', [r.id]);
      assert.deepEqual(stored.map((s) => [s.price_source, Number(s.cost)]), [['table', 0.0575], ['table', 0.00045], ['table', 0.0495], ['client', 2]]);
      // Each call is linked to the llm_call event that caused it.
      const links = await count(`SELECT count(*)::int AS n FROM token_usage t JOIN task_events e ON e.id = t.task_event_id AND e.kind = 'llm_call' JOIN llm_requests q ON q.id = t.llm_request_id JOIN llm_responses s ON s.request_id = q.id WHERE t.run_id = $1`, [r.id]);
      assert.equal(links, 4);

      // Grouped by model name as reported, by agent, provider, task and day for this run.
      const byModel = (await ok('GET', `/api/v1/usage/costs?groupBy=model&runId=${r.id}`, viewer)).items;
      const cost = (rows: { key: string; cost: number }[], key: string) => rows.find((x) => x.key === key)?.cost;
      assert.equal(cost(byModel, 'openai/gpt-4o'), 2);
      assert.equal(cost(byModel, 'openai/gpt-4o-2024-08-06'), 0.0575);
      assert.equal(cost(byModel, 'openai/gpt-4o-mini-2024-07-18'), 0.00045);
      const byAgent = (await ok('GET', `/api/v1/usage/costs?groupBy=agent&agent=${r.agent}`, viewer)).items;
      assert.equal(byAgent.length, 1);
      assert.ok(Math.abs(byAgent[0].cost - 2.10745) < 1e-12, JSON.stringify(byAgent));
      assert.deepEqual([byAgent[0].requests, byAgent[0].inputTokens, byAgent[0].cachedInputTokens, byAgent[0].outputTokens], [4, 1_033_000, 17_000, 505_500]);
      const byProvider = (await ok('GET', `/api/v1/usage/costs?groupBy=provider&runId=${r.id}`, viewer)).items;
      assert.deepEqual(byProvider.map((x: { key: string }) => x.key).sort(), ['anthropic', 'openai']);
      const byDay = (await ok('GET', `/api/v1/usage/costs?groupBy=day&runId=${r.id}`, viewer)).items;
      assert.equal(byDay.length, 1);
      assert.match(byDay[0].key, /^\d{4}-\d{2}-\d{2}$/);
      assert.equal((await ok('GET', `/api/v1/usage/costs?groupBy=task&runId=${r.id}`, viewer)).items[0].key, String(r.taskId));
      const byHost = (await ok('GET', `/api/v1/usage/costs?groupBy=host&runId=${r.id}`, viewer)).items;
      assert.deepEqual(byHost.map((x: { key: string; requests: number }) => [x.key, x.requests]), [[host, 4]]);
    });

    test('a later price version applies to later calls only: rows written before keep their cost', async () => {
      const provider = `prov-${uid()}`;
      const first = await ok('POST', '/api/v1/pricing', admin, { provider, modelPattern: 'tm', inputPerMTok: 2, outputPerMTok: 4, validFrom: '2026-01-01T00:00:00Z' });
      const r = await newRun();
      await move(r.id, 'running');
      const usage = { inputTokens: 500_000, outputTokens: 250_000 };
      const jan = (await ok('POST', `/api/v1/runs/${r.id}/llm-calls`, agent, { items: [{ provider, model: 'tm-1', usage, occurredAt: '2026-01-15T00:00:00Z' }] })).items[0];
      // 500,000 × 2 / 10⁶ + 250,000 × 4 / 10⁶ = 1 + 1
      assert.deepEqual([jan.cost, jan.pricingId], [2, first.id]);

      const second = await ok('POST', '/api/v1/pricing', admin, { provider, modelPattern: 'tm', inputPerMTok: 6, cachedInputPerMTok: 3, outputPerMTok: 8, validFrom: '2026-02-01T00:00:00Z' });
      const versions = (await ok('GET', `/api/v1/pricing?provider=${provider}`, viewer)).items;
      assert.deepEqual(versions.map((v: { validFrom: string; validTo: string | null }) => [v.validFrom, v.validTo]), [
        ['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z'],
        ['2026-02-01T00:00:00.000Z', null],
      ]);
      const feb = (await ok('POST', `/api/v1/runs/${r.id}/llm-calls`, agent, { items: [{ provider, model: 'tm-1', usage, occurredAt: '2026-02-02T00:00:00Z' }] })).items[0];
      // 500,000 × 6 / 10⁶ + 250,000 × 8 / 10⁶ = 3 + 2
      assert.deepEqual([feb.cost, feb.pricingId], [5, second.id]);
      const old = await rt.db.queryOne<{ cost: number; input_per_mtok: number; pricing_id: number }>('SELECT cost, input_per_mtok, pricing_id FROM token_usage WHERE llm_request_id = $1', [jan.llmRequestId]);
      assert.deepEqual([Number(old!.cost), Number(old!.input_per_mtok), old!.pricing_id], [2, 2, first.id], 'the January row is not rewritten');
      // A call before any version has no price: recorded, cost null.
      const dec = (await ok('POST', `/api/v1/runs/${r.id}/llm-calls`, agent, { items: [{ provider, model: 'tm-1', usage, occurredAt: '2025-12-01T00:00:00Z' }] })).items[0];
      assert.deepEqual([dec.cost, dec.priceSource], [null, 'none']);

      const resolved = await ok('GET', `/api/v1/pricing/resolve?provider=${provider}&model=tm-1-preview&at=2026-01-20T00:00:00Z`, viewer);
      assert.equal(resolved.price.id, first.id);
      assert.equal((await ok('GET', `/api/v1/pricing/resolve?provider=${provider}&model=tmx&at=2026-01-20T00:00:00Z`, viewer)).price, null, 'tmx is not tm followed by a separator');

      // An end before its start is 400 naming validTo; an overlap is 409; nothing written by either.
      const n = await count('SELECT count(*)::int AS n FROM provider_pricing WHERE provider = $1', [provider]);
      const backwards = await call('POST', '/api/v1/pricing', admin, { provider, modelPattern: 'other', inputPerMTok: 1, outputPerMTok: 1, validFrom: '2026-03-01T00:00:00Z', validTo: '2026-02-01T00:00:00Z' });
      assert.equal(backwards.statusCode, 400);
      assert.deepEqual(backwards.json().errors.map((e: { path: string }) => e.path), ['body.validTo']);
      const overlap = await call('POST', '/api/v1/pricing', admin, { provider, modelPattern: 'tm', inputPerMTok: 1, outputPerMTok: 1, validFrom: '2026-01-10T00:00:00Z', validTo: '2026-01-20T00:00:00Z' });
      assert.deepEqual([overlap.statusCode, overlap.json().code], [409, 'PRICE_PERIOD_OVERLAP']);
      // A bounded period inside the open version would leave a gap after it: refused too, the open version untouched.
      const inside = await call('POST', '/api/v1/pricing', admin, { provider, modelPattern: 'tm', inputPerMTok: 1, outputPerMTok: 1, validFrom: '2026-03-01T00:00:00Z', validTo: '2026-03-10T00:00:00Z' });
      assert.deepEqual([inside.statusCode, inside.json().code], [409, 'PRICE_PERIOD_OVERLAP']);
      assert.equal(await count('SELECT count(*)::int AS n FROM provider_pricing WHERE provider = $1', [provider]), n);
      // Price changes are for admins only.
      assert.equal((await call('POST', '/api/v1/pricing', operator, { provider, modelPattern: 'x', inputPerMTok: 1, outputPerMTok: 1, validFrom: '2026-01-01T00:00:00Z' })).statusCode, 403);
    });

    test('bad usage is 400 naming the field, and nothing of the batch is written', async () => {
      const r = await newRun();
      await move(r.id, 'running');
      const seq = (await ok('GET', `/api/v1/runs/${r.id}`, viewer)).lastEventSeq;
      const good = { provider: 'openai', model: 'gpt-4o', usage: { inputTokens: 10, outputTokens: 10 } };
      const negative = await call('POST', `/api/v1/runs/${r.id}/llm-calls`, agent, { items: [good, { ...good, usage: { inputTokens: -1, outputTokens: 10 } }] });
      assert.equal(negative.statusCode, 400);
      assert.ok(negative.json().errors.some((e: { path: string }) => e.path === 'body.items.1.usage.inputTokens'), negative.body);
      const cachedOver = await call('POST', `/api/v1/runs/${r.id}/llm-calls`, agent, { items: [good, { ...good, usage: { inputTokens: 10, cachedInputTokens: 11, outputTokens: 1 } }] });
      assert.equal(cachedOver.statusCode, 400);
      assert.deepEqual(cachedOver.json().errors.map((e: { path: string }) => e.path), ['body.items.1.usage.cachedInputTokens']);
      const noEvent = await call('POST', `/api/v1/runs/${r.id}/llm-calls`, agent, { items: [good, { ...good, eventSeq: 999 }] });
      assert.equal(noEvent.statusCode, 400);
      assert.deepEqual(noEvent.json().errors.map((e: { path: string }) => e.path), ['body.items.1.eventSeq']);
      assert.equal(await count('SELECT count(*)::int AS n FROM llm_requests WHERE run_id = $1', [r.id]), 0);
      assert.equal(await count('SELECT count(*)::int AS n FROM token_usage WHERE run_id = $1', [r.id]), 0);
      assert.equal((await ok('GET', `/api/v1/runs/${r.id}`, viewer)).lastEventSeq, seq, 'no event appended either');
      // A call naming an existing event links to it instead of adding one.
      const ev = await ok('POST', `/api/v1/runs/${r.id}/events`, agent, { items: [{ kind: 'message', message: 'thinking' }] });
      const linked = (await ok('POST', `/api/v1/runs/${r.id}/llm-calls`, agent, { items: [{ ...good, eventSeq: ev.lastSeq }] })).items[0];
      assert.equal(linked.eventSeq, ev.lastSeq);
    });

    test('the view recent_token_usage_summary: the last 30 days by provider and model', async () => {
      const provider = `view-${uid()}`;
      const r = await newRun();
      await move(r.id, 'running');
      const price = { inputPerMTok: 1, outputPerMTok: 1 };
      const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
      await ok('POST', `/api/v1/runs/${r.id}/llm-calls`, agent, {
        items: [
          { provider, model: 'm1', usage: { inputTokens: 100, outputTokens: 50 }, price },
          { provider, model: 'm1', usage: { inputTokens: 300, cachedInputTokens: 100, outputTokens: 50, reasoningTokens: 7 }, price },
          { provider, model: 'm2', usage: { inputTokens: 1, outputTokens: 1 } },
          { provider, model: 'm1', usage: { inputTokens: 1_000_000, outputTokens: 0 }, price, occurredAt: old },
        ],
      });
      const rows = (await ok('GET', '/api/v1/usage/recent', viewer)).items.filter((x: { provider: string }) => x.provider === provider);
      assert.deepEqual(rows, [
        // (100 + 300) × 1 / 10⁶ + (50 + 50) × 1 / 10⁶ = 500 / 10⁶; the 40-day-old call is left out
        { provider, model: 'm1', requests: 2, inputTokens: 400, cachedInputTokens: 100, outputTokens: 100, reasoningTokens: 7, cost: 0.0005, unpricedRequests: 0 },
        { provider, model: 'm2', requests: 1, inputTokens: 1, cachedInputTokens: 0, outputTokens: 1, reasoningTokens: null, cost: null, unpricedRequests: 1 },
      ]);
    });

    test('tool calls: arguments validated against the schema, an invalid call recorded as invalid; unknown tool → 404 naming it; the success-rate view', async () => {
      const name = `kubectl-get-${uid()}`;
      const badSchema = await call('PUT', `/api/v1/tools/${name}`, admin, { argsSchema: { type: 'nonsense' }, riskLevel: 'low' });
      assert.equal(badSchema.statusCode, 400);
      assert.deepEqual(badSchema.json().errors.map((e: { path: string }) => e.path), ['body.argsSchema']);
      const created = await call('PUT', `/api/v1/tools/${name}`, admin, {
        description: 'Read Kubernetes objects',
        argsSchema: { type: 'object', properties: { resource: { type: 'string' }, namespace: { type: 'string' } }, required: ['resource'], additionalProperties: false },
        riskLevel: 'low',
      });
      assert.equal(created.statusCode, 201, created.body);
      assert.equal((await call('PUT', `/api/v1/tools/${name}`, agent, { argsSchema: {}, riskLevel: 'low' })).statusCode, 403, 'agents cannot define tools');

      const r = await newRun();
      const notRunning = await call('POST', `/api/v1/runs/${r.id}/tool-calls`, agent, { tool: name, arguments: { resource: 'pods' } });
      assert.deepEqual([notRunning.statusCode, notRunning.json().code], [409, 'RUN_NOT_RUNNING']);
      await move(r.id, 'running');
      const invalid = await call('POST', `/api/v1/runs/${r.id}/tool-calls`, agent, { tool: name, arguments: { namespace: 7, extra: true } });
      assert.equal(invalid.statusCode, 201, invalid.body);
      const inv = invalid.json();
      assert.deepEqual([inv.argsValid, inv.outcome, inv.approval], [false, 'invalid', 'not_required']);
      assert.ok(inv.validationErrors.length >= 2, JSON.stringify(inv.validationErrors));
      assert.deepEqual(inv.arguments, { namespace: 7, extra: true }, 'the arguments are kept as sent');
      const stored = await rt.db.queryOne<{ args_valid: boolean; outcome: string }>('SELECT args_valid, outcome FROM tool_call_records WHERE id = $1', [inv.id]);
      assert.deepEqual(stored, { args_valid: false, outcome: 'invalid' });

      // Standard formats are checked too.
      const check = `http-check-${uid()}`;
      await ok('PUT', `/api/v1/tools/${check}`, admin, { argsSchema: { type: 'object', properties: { url: { type: 'string', format: 'uri' } }, required: ['url'] }, riskLevel: 'low' });
      const notUri = (await ok('POST', `/api/v1/runs/${r.id}/tool-calls`, agent, { tool: check, arguments: { url: 'not a uri' } })).validationErrors;
      assert.deepEqual(notUri.map((e: { path: string }) => e.path), ['/url']);
      assert.equal((await ok('POST', `/api/v1/runs/${r.id}/tool-calls`, agent, { tool: check, arguments: { url: 'http://192.168.50.20:32400/identity' } })).argsValid, true);

      const seq = (await ok('GET', `/api/v1/runs/${r.id}`, viewer)).lastEventSeq;
      const unknown = await call('POST', `/api/v1/runs/${r.id}/tool-calls`, agent, { tool: 'rm-rf', arguments: {} });
      assert.equal(unknown.statusCode, 404);
      assert.deepEqual([unknown.json().code, unknown.json().tool], ['TOOL_NOT_FOUND', 'rm-rf']);
      assert.equal((await ok('GET', `/api/v1/runs/${r.id}`, viewer)).lastEventSeq, seq, 'nothing written for an unknown tool');

      for (const [outcome, durationMs] of [['success', 100], ['success', 300], ['error', 200]] as const) {
        const c = await call('POST', `/api/v1/runs/${r.id}/tool-calls`, agent, { tool: name, arguments: { resource: 'pods' }, result: { outcome, durationMs, outputSizeBytes: 1234 } });
        assert.equal(c.statusCode, 201, c.body);
      }
      // A call recorded first and finished later.
      const open = (await ok('POST', `/api/v1/runs/${r.id}/tool-calls`, agent, { tool: name, arguments: { resource: 'nodes' } })).id;
      const res = await ok('POST', `/api/v1/tool-calls/${open}/result`, agent, { outcome: 'success', durationMs: 600 });
      assert.deepEqual([res.outcome, res.durationMs], ['success', 600]);
      assert.equal((await call('POST', `/api/v1/tool-calls/${open}/result`, agent, { outcome: 'error' })).json().code, 'TOOL_CALL_FINISHED');

      const rate = (await ok('GET', '/api/v1/tools/success-rate', viewer)).items.find((x: { tool: string }) => x.tool === name);
      // 5 calls with an outcome (invalid, success, success, error, success): 3/5; durations 100, 300, 200, 600 → 300
      assert.deepEqual(rate, { tool: name, calls: 5, successes: 3, successRate: 0.6, avgDurationMs: 300 });
    });

    test('approval flow: a policy holds a risky call, the run awaits approval; the role the policy names approves or rejects', async () => {
      const tool = `restart-${uid()}`;
      await ok('PUT', `/api/v1/tools/${tool}`, admin, { argsSchema: { type: 'object', properties: { service: { type: 'string' } }, required: ['service'] }, riskLevel: 'high' });
      const pol = await ok('POST', '/api/v1/policies', admin, { name: `prod restarts ${uid()}`, toolName: tool, minRiskLevel: 'high', nodeLabels: { env: 'prod' }, approverRole: 'operator' });
      const prod = `prod-${uid()}`;
      const lab = `lab-${uid()}`;
      await ok('POST', '/api/v1/hosts', agent, { name: prod, labels: { env: 'prod' } });
      await ok('POST', '/api/v1/hosts', agent, { name: lab, labels: { env: 'lab' } });

      // On a node the policy does not cover: no approval.
      const free = await newRun({ node: lab });
      await move(free.id, 'running');
      const direct = await call('POST', `/api/v1/runs/${free.id}/tool-calls`, agent, { tool, arguments: { service: 'plex' }, result: { outcome: 'success', durationMs: 10 } });
      assert.deepEqual([direct.statusCode, direct.json().approval], [201, 'not_required']);

      const r = await newRun({ node: prod });
      await move(r.id, 'running');
      // Sent with a result as if it had already run: refused, nothing written.
      const seq = (await ok('GET', `/api/v1/runs/${r.id}`, viewer)).lastEventSeq;
      const ranAlready = await call('POST', `/api/v1/runs/${r.id}/tool-calls`, agent, { tool, arguments: { service: 'plex' }, result: { outcome: 'success' } });
      assert.deepEqual([ranAlready.statusCode, ranAlready.json().code], [409, 'TOOL_CALL_NEEDS_APPROVAL']);
      assert.equal((await ok('GET', `/api/v1/runs/${r.id}`, viewer)).lastEventSeq, seq);

      const held = await call('POST', `/api/v1/runs/${r.id}/tool-calls`, agent, { tool, arguments: { service: 'plex' } });
      assert.equal(held.statusCode, 202, held.body);
      const c = held.json();
      assert.deepEqual([c.approval, c.policyId, c.approverRole], ['pending', pol.id, 'operator']);
      const waiting = await ok('GET', `/api/v1/runs/${r.id}`, viewer);
      assert.equal(waiting.status, 'awaiting_approval');
      assert.ok(waiting.approvalRequestedAt);
      const active = (await ok('GET', '/api/v1/runs/active', viewer)).items.find((x: { id: number }) => x.id === r.id);
      assert.equal(active.status, 'awaiting_approval');

      assert.equal((await call('POST', `/api/v1/runs/${r.id}/tool-calls`, agent, { tool, arguments: { service: 'x' } })).json().code, 'RUN_AWAITING_APPROVAL');
      assert.equal((await move(r.id, 'running')).json().code, 'RUN_AWAITING_APPROVAL');
      assert.equal((await move(r.id, 'succeeded')).json().code, 'RUN_AWAITING_APPROVAL');
      assert.equal((await call('POST', `/api/v1/tool-calls/${c.id}/result`, agent, { outcome: 'success' })).json().code, 'TOOL_CALL_NOT_APPROVED');
      const byViewer = await call('POST', `/api/v1/tool-calls/${c.id}/approve`, viewer, { reason: 'looks fine' });
      assert.deepEqual([byViewer.statusCode, byViewer.json().code], [403, 'APPROVAL_ROLE_REQUIRED']);
      const byKey = await call('POST', `/api/v1/tool-calls/${c.id}/approve`, `Bearer ${await createApiKey(rt, ['admin'])}`, { reason: 'self-approval' });
      assert.deepEqual([byKey.statusCode, byKey.json().code], [403, 'APPROVAL_NEEDS_USER']);
      assert.equal((await call('POST', `/api/v1/tool-calls/${c.id}/approve`, operator, { reason: '' })).statusCode, 400);

      const approved = await ok('POST', `/api/v1/tool-calls/${c.id}/approve`, operator, { reason: 'maintenance window' });
      assert.deepEqual([approved.approval, approved.decidedBy, approved.decisionReason], ['approved', 'test-operator', 'maintenance window']);
      const resumed = await ok('GET', `/api/v1/runs/${r.id}`, viewer);
      assert.equal(resumed.status, 'running');
      assert.ok(resumed.approvalDecidedAt);
      assert.equal((await call('POST', `/api/v1/tool-calls/${c.id}/approve`, operator, { reason: 'again' })).json().code, 'TOOL_CALL_NOT_PENDING');
      assert.equal((await ok('POST', `/api/v1/tool-calls/${c.id}/result`, agent, { outcome: 'success', durationMs: 4200 })).outcome, 'success');
      assert.equal((await move(r.id, 'succeeded')).json().status, 'succeeded');
      const states = (await ok('GET', `/api/v1/runs/${r.id}/events`, viewer)).items.filter((e: { kind: string }) => e.kind === 'state').map((e: { message: string }) => e.message);
      assert.deepEqual(states, ['queued', 'running', 'awaiting_approval', 'running', 'succeeded']);
      assert.ok(!(await ok('GET', '/api/v1/runs/active', viewer)).items.some((x: { id: number }) => x.id === r.id), 'finished runs leave active_task_runs');

      // Rejection fails the run.
      const r2 = await newRun({ node: prod });
      await move(r2.id, 'running');
      const c2 = (await ok('POST', `/api/v1/runs/${r2.id}/tool-calls`, agent, { tool, arguments: { service: 'plex' } }, [202])).id;
      const rejected = await ok('POST', `/api/v1/tool-calls/${c2}/reject`, admin, { reason: 'not during prime time' });
      assert.deepEqual([rejected.approval, rejected.outcome], ['rejected', 'rejected']);
      const failed = await ok('GET', `/api/v1/runs/${r2.id}`, viewer);
      assert.equal(failed.status, 'failed');
      assert.match(failed.error, /rejected by test-admin: not during prime time/);
      assert.equal((await call('POST', `/api/v1/tool-calls/${c2}/result`, agent, { outcome: 'success' })).json().code, 'TOOL_CALL_NOT_APPROVED');

      // The pending list shows what waits for whom.
      const r3 = await newRun({ node: prod });
      await move(r3.id, 'running');
      const c3 = (await ok('POST', `/api/v1/runs/${r3.id}/tool-calls`, agent, { tool, arguments: { service: 'sonarr' } }, [202])).id;
      const pending = (await ok('GET', `/api/v1/tool-calls?approval=pending&tool=${tool}`, viewer)).items;
      assert.deepEqual(pending.map((x: { id: number }) => x.id), [c3]);
      // Who did what to the held call, newest first.
      const trail = (await ok('GET', `/api/v1/audit?targetType=tool_call&targetId=${c.id}`, admin)).items;
      assert.deepEqual(trail.map((x: { action: string; actorName: string }) => [x.action, x.actorName]), [
        ['tool_call.result', 'agent-key'],
        ['tool_call.approve', 'test-operator'],
        ['tool_call.record', 'agent-key'],
      ]);
      assert.equal(trail[1].summary.reason, 'maintenance window');
      // A cancelled run leaves its pending call undecidable.
      assert.equal((await move(r3.id, 'cancelled')).json().status, 'cancelled');
      assert.equal((await call('POST', `/api/v1/tool-calls/${c3}/approve`, operator, { reason: 'late' })).json().code, 'RUN_FINISHED');
    });

    test('policies: workload labels select calls, and of several matching policies the strictest approver role applies', async () => {
      const tool = `scale-${uid()}`;
      await ok('PUT', `/api/v1/tools/${tool}`, admin, { argsSchema: { type: 'object' }, riskLevel: 'medium' });
      const tier = `t-${uid()}`;
      const loose = await ok('POST', '/api/v1/policies', admin, { name: `any ${tool}`, toolName: tool, workloadLabels: { tier }, approverRole: 'operator' });
      const strict = await ok('POST', '/api/v1/policies', admin, { name: `medium+ ${tier}`, minRiskLevel: 'medium', workloadLabels: { tier }, approverRole: 'admin' });
      await ok('POST', '/api/v1/policies', admin, { name: `high+ ${tier}`, minRiskLevel: 'high', workloadLabels: { tier }, approverRole: 'viewer' });
      const wl = (await ok('POST', '/api/v1/workloads', agent, { kind: 'container', name: `db-${uid()}`, labels: { tier } })).id;
      const other = (await ok('POST', '/api/v1/workloads', agent, { kind: 'container', name: `web-${uid()}`, labels: { tier: 'other' } })).id;
      const runOn = async (workloadId: number) => {
        const t = await ok('POST', '/api/v1/tasks', agent, { title: 'scale', prompt: 'scale it', workloadId });
        const r = await ok('POST', `/api/v1/tasks/${t.id}/runs`, agent, { agent: 'a' });
        await move(r.id, 'running');
        return r.id as number;
      };
      const held = await call('POST', `/api/v1/runs/${await runOn(wl)}/tool-calls`, agent, { tool, arguments: {} });
      assert.equal(held.statusCode, 202);
      assert.deepEqual([held.json().policyId, held.json().approverRole], [strict.id, 'admin']);
      assert.equal((await call('POST', `/api/v1/tool-calls/${held.json().id}/approve`, operator, { reason: 'ok' })).json().code, 'APPROVAL_ROLE_REQUIRED');
      const free = await call('POST', `/api/v1/runs/${await runOn(other)}/tool-calls`, agent, { tool, arguments: {} });
      assert.deepEqual([free.statusCode, free.json().approval], [201, 'not_required']);
      // Disabled policies do not hold calls.
      await ok('PUT', `/api/v1/policies/${strict.id}`, admin, { name: `medium+ ${tier}`, minRiskLevel: 'medium', workloadLabels: { tier }, approverRole: 'admin', enabled: false });
      const now = (await call('POST', `/api/v1/runs/${await runOn(wl)}/tool-calls`, agent, { tool, arguments: {} })).json();
      assert.deepEqual([now.policyId, now.approverRole], [loose.id, 'operator']);
    });

    test('audit: every mutation leaves an entry with who, what, where; admins page through it by keyset', async () => {
      const r = await newRun();
      const requestId = `req-${uid()}`;
      const moved = await call('POST', `/api/v1/runs/${r.id}/transitions`, agent, { to: 'running' }, { 'x-request-id': requestId });
      assert.equal(moved.statusCode, 200);
      const page = await ok('GET', `/api/v1/audit?targetType=task_run&targetId=${r.id}&limit=1`, admin);
      assert.equal(page.items.length, 1);
      const e = page.items[0];
      assert.deepEqual([e.action, e.actorKind, e.actorName, e.targetId, e.ip, e.requestId], ['run.transition', 'api_key', 'agent-key', String(r.id), '127.0.0.1', requestId]);
      assert.deepEqual(e.summary, { from: 'queued', to: 'running' });
      assert.ok(page.nextCursor, 'the run.create entry is on the next page');
      const next = await ok('GET', `/api/v1/audit?targetType=task_run&targetId=${r.id}&limit=1&before=${page.nextCursor}`, admin);
      assert.deepEqual(next.items.map((x: { action: string }) => x.action), ['run.create']);
      assert.equal(next.nextCursor, null);
      assert.equal((await call('GET', '/api/v1/audit', operator)).statusCode, 403);

      // Summaries never keep secrets.
      await recordAudit(rt.db, { principal: null, action: 'test.redact', targetType: 'test', targetId: 'x', summary: { password: 'hunter2', apiKey: 'odk_x', nested: { token: 't' }, note: 'kept' } });
      const red = (await ok('GET', '/api/v1/audit?action=test.redact', admin)).items[0];
      assert.deepEqual(red.summary, { password: '[redacted]', apiKey: '[redacted]', nested: { token: '[redacted]' }, note: 'kept' });
      assert.equal(red.actorKind, 'system');
    });

    test('audit_entries is append-only in the database: UPDATE, DELETE and TRUNCATE fail, for the owner too', async () => {
      await recordAudit(rt.db, { principal: null, action: 'test.append-only', targetType: 'test' });
      const n = await count('SELECT count(*)::int AS n FROM audit_entries', []);
      for (const sql of ["UPDATE audit_entries SET action = 'forged'", 'DELETE FROM audit_entries', 'DELETE FROM audit_entries WHERE false', 'TRUNCATE audit_entries']) {
        await assert.rejects(rt.db.query(sql), (err: unknown) => err instanceof DatabaseQueryError && /append-only/.test(err.message), sql);
      }
      assert.equal(await count('SELECT count(*)::int AS n FROM audit_entries', []), n);
      // The privileges are revoked from PUBLIC and the migrating role: no grant of UPDATE, DELETE or TRUNCATE remains.
      const grants = await rt.db.queryMany<{ privilege_type: string }>(
        `SELECT a.privilege_type FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a WHERE c.oid = 'audit_entries'::regclass AND a.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE')`,
      );
      assert.deepEqual(grants, []);
      // The production role (docs/agent-ledger.md): SELECT and INSERT only, so even without the trigger it may not change rows.
      const role = `opsdeck_app_${uid()}`;
      await rt.db.exec(`CREATE ROLE ${role} NOLOGIN; GRANT SELECT, INSERT ON audit_entries TO ${role}`);
      try {
        await assert.rejects(
          rt.db.transaction(async (tx) => {
            await tx.exec(`SET LOCAL ROLE ${role}`);
            await tx.exec('TRUNCATE audit_entries');
          }),
          (err: unknown) => err instanceof DatabaseQueryError && err.sqlState === '42501' && /permission denied/.test(err.message),
        );
      } finally {
        await rt.db.exec(`REVOKE ALL ON audit_entries FROM ${role}; DROP ROLE ${role}`);
      }
    });
  });
}
