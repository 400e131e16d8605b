/**
 * The node choice of a family declaration (FamilyDecl.node): node_id by default, any
 * identity column, or none. Test families: test/support/node-families.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, type MigratedDatabase } from '../../test/support/backends.ts';
import { createNodeFamilies, NODE_TEST_FAMILIES, probeMailq, probeService } from '../../test/support/node-families.ts';
import { mergeBatches, WriteCoalescer } from './coalescer.ts';
import { defineFamily, type FamilyDecl, type IdentityDecl } from './family.ts';
import { compileFastCheck, ingestRowSchema, IngestValidationError, prepareBatch } from './ingest.ts';
import { QueryError } from './query.ts';
import { TimeseriesStore } from './store.ts';

const base = {
  table: 'metrics_node_probe',
  key: 'node_probe',
  title: 'probe',
  description: 'probe',
  sampleInterval: '15 seconds',
  chunkInterval: '1 hour',
  retention: { raw: '90 days', '5m': '90 days', '1h': '365 days', '1d': '730 days' },
  compressAfter: '7 days',
  rollups: { '5m': 'node_probe_5m', '1h': 'node_probe_1h', '1d': 'node_probe_daily' },
  columns: { role: { type: 'text', unit: 'label', agg: 'last', description: 'role' } },
} as const;

/** A declaration checked only at run time (the refused ones do not type-check, on purpose). */
const decl = (d: Record<string, unknown>) => ({ ...base, ...d }) as unknown as FamilyDecl;
const id = (extra: Partial<IdentityDecl> = {}): IdentityDecl => ({ description: 'x', ...extra });

/** Whole 5-minute bucket 10 minutes ago: rows of the tests stay inside one 5m bucket. */
const T0 = Math.floor(Date.now() / 300_000) * 300_000 - 600_000;
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function issuesOf(fn: () => unknown): { index: number; path: (string | number)[] }[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof IngestValidationError) return e.issues.map((i) => ({ index: i.index, path: i.path }));
    throw e;
  }
  assert.fail('expected an IngestValidationError');
}

test('a family names its node column: node_id by default, any identity column, or none', () => {
  assert.equal(defineFamily({ ...base, identity: { node_id: id() } }).nodeColumn, 'node_id');
  assert.equal(defineFamily({ ...base, identity: { node_id: id() } }).nodeField, 'nodeId');
  assert.equal(probeMailq.nodeColumn, 'host');
  assert.equal(probeMailq.nodeField, 'host');
  assert.deepEqual(probeMailq.identity, ['queue', 'host']);
  assert.equal(probeService.nodeColumn, null);
  assert.equal(probeService.nodeField, null);
  // node_id need not come first when it is the (default) node column
  assert.deepEqual(defineFamily({ ...base, identity: { zone: id(), node_id: id() } }).identity, ['zone', 'node_id']);
});

test('defineFamily refuses a role column without a node column, and a node column that is not an identity column', () => {
  assert.throws(() => defineFamily(decl({ node: null, roleColumn: 'role', identity: { service: id() } })), /metrics_node_probe: roleColumn needs a node column/);
  assert.throws(() => defineFamily(decl({ node: 'host', identity: { service: id() } })), /metrics_node_probe: node column host is not an identity column/);
  // without `node`, the node column is node_id: a family without it must say node: null
  assert.throws(() => defineFamily(decl({ identity: { service: id() } })), /metrics_node_probe: node column node_id is not an identity column/);
  assert.throws(() => defineFamily(decl({ node: 'role', identity: { service: id() } })), /node column role is not an identity column/);
  // the same refusals at compile time (NodeChecked): each line below must not type-check
  // @ts-expect-error roleColumn without a node column
  assert.throws(() => defineFamily({ ...base, node: null, roleColumn: 'role', identity: { service: id() } }), /roleColumn needs a node column/);
  // @ts-expect-error a node column that is not an identity column
  assert.throws(() => defineFamily({ ...base, node: 'host', identity: { service: id() } }), /node column host is not an identity column/);
  // @ts-expect-error node omitted: node_id, which is not an identity column here
  assert.throws(() => defineFamily({ ...base, identity: { service: id() } }), /node column node_id is not an identity column/);
  // accepted: the same families with a node column, or without a role column
  assert.equal(defineFamily(decl({ node: 'service', roleColumn: 'role', identity: { service: id() } })).nodeColumn, 'service');
  assert.equal(defineFamily(decl({ node: null, identity: { service: id() } })).nodeColumn, null);
});

test('identity rules: a pattern without g, y or m, a positive maxLength, and neither on the node column', () => {
  const refused: [string, Record<string, unknown>, RegExp][] = [
    ['pattern on the node column', { identity: { node_id: id({ pattern: /^.+$/ }) } }, /node_id: the node column keeps the node-id rule/],
    ['maxLength on the node column', { node: 'host', identity: { host: id({ maxLength: 300 }) } }, /host: the node column keeps the node-id rule/],
    ['global pattern (test() would keep lastIndex)', { node: null, identity: { ip: id({ pattern: /^[0-9.]+$/g }) } }, /ip: pattern must not have the g, y or m flag/],
    ['sticky pattern', { node: null, identity: { ip: id({ pattern: /^[0-9.]+$/y }) } }, /ip: pattern must not have the g, y or m flag/],
    ['multiline pattern (^ and $ at every line)', { node: null, identity: { ip: id({ pattern: /^[0-9.]+$/m }) } }, /ip: pattern must not have the g, y or m flag/],
    ['zero maxLength', { node: null, identity: { ip: id({ maxLength: 0 }) } }, /ip: maxLength must be an integer from 1/],
    ['fractional maxLength', { node: null, identity: { ip: id({ maxLength: 2.5 }) } }, /ip: maxLength must be an integer from 1/],
  ];
  for (const [what, d, message] of refused) assert.throws(() => defineFamily(decl(d)), message, what);
  assert.equal(defineFamily(decl({ node: null, identity: { ip: id({ pattern: /^[0-9.]+$/i, maxLength: 15 }) } })).identity[0], 'ip');
});

test('a declared pattern must match the whole value, anchored or not', () => {
  const accepts = (pattern: RegExp, value: string) => {
    const f = defineFamily(decl({ node: null, identity: { ip: id({ pattern }) } }));
    const zod = ingestRowSchema(f).safeParse({ ip: value }).success;
    const fast = compileFastCheck(f)({ ip: value });
    assert.equal(fast && !zod, false, `the fast check accepted what Zod refuses: ${pattern} ${value}`);
    return zod;
  };
  assert.equal(accepts(/[0-9.]+/, '192.0.2.7'), true);
  assert.equal(accepts(/[0-9.]+/, 'x192.0.2.7'), false, 'unanchored: a partial match is not enough');
  assert.equal(accepts(/[0-9.]+/, '192.0.2.7 x'), false, 'unanchored: a partial match is not enough');
  // the alternation binds looser than the anchors: on its own /^a|b$/ matches "ax" and "xb"
  assert.equal(accepts(/^a|b$/, 'a'), true);
  assert.equal(accepts(/^a|b$/, 'ax'), false);
  assert.equal(accepts(/^a|b$/, 'xb'), false);
  // maxLength alone keeps the node-id pattern
  const short = defineFamily(decl({ node: null, identity: { code: id({ maxLength: 3 }) } }));
  assert.equal(ingestRowSchema(short).safeParse({ code: 'abc' }).success, true);
  assert.equal(ingestRowSchema(short).safeParse({ code: 'abcd' }).success, false);
  assert.equal(ingestRowSchema(short).safeParse({ code: '<a>' }).success, false);
});

test("identity values follow their own column's rule: an IPv6 address or a Message-ID is an identity value, not a node id", () => {
  const schema = ingestRowSchema(probeService);
  const ok = prepareBatch(probeService, schema, [
    { service: 'smtp-out', address: '::1', timestamp: at(0), up: 1 },
    { service: 'smtp-out', address: '2001:DB8::7', timestamp: at(0), up: 0 },
  ]);
  assert.deepEqual(ok.arrays[2], ['::1', '2001:DB8::7']);
  // the node-id rule still holds for `service` (default rule): '::1' does not start with a letter or digit
  assert.deepEqual(issuesOf(() => prepareBatch(probeService, schema, [{ service: '::1', address: '::1' }])), [{ index: 0, path: ['service'] }]);
  // 46 characters: over the address column's maxLength (45), though the pattern matches
  assert.deepEqual(issuesOf(() => prepareBatch(probeService, schema, [{ service: 's', address: '1'.repeat(46) }])), [{ index: 0, path: ['address'] }]);
  // a value valid in one identity column is not thereby valid in another: '::1' passed as an
  // address in row 0 must still be checked as a service in row 1
  assert.deepEqual(
    issuesOf(() =>
      prepareBatch(probeService, schema, [
        { service: 'smtp-out', address: '::1' },
        { service: '::1', address: '::1' },
      ]),
    ),
    [{ index: 1, path: ['service'] }],
  );
  const fast = compileFastCheck(probeService);
  assert.equal(fast({ service: 'smtp-out', address: '::1' }), true);
  assert.equal(fast({ service: '::1', address: '::1' }), false);

  const messages = defineFamily(
    decl({ node: null, identity: { message_id: id({ pattern: /^<[^<>\s]+>$/, maxLength: 998 }) }, columns: { role: { type: 'text', unit: 'label', agg: 'last', description: 'x' } } }),
  );
  const b = prepareBatch(messages, ingestRowSchema(messages), [{ messageId: '<abc+1@x>', timestamp: at(0) }]);
  assert.deepEqual(b.arrays[1], ['<abc+1@x>']);
  assert.deepEqual(issuesOf(() => prepareBatch(messages, ingestRowSchema(messages), [{ messageId: 'abc+1@x' }])), [{ index: 0, path: ['messageId'] }]);
});

test("a batch's latest sample per node comes from the node column; a family without one has none", () => {
  const schema = ingestRowSchema(probeMailq);
  const a = prepareBatch(probeMailq, schema, [
    { queue: 'active', host: 'mq-a', timestamp: at(0), hostRole: 'mta', depth: 1 },
    { queue: 'deferred', host: 'mq-a', timestamp: at(30), hostRole: 'mta', depth: 2 },
    { queue: 'active', host: 'mq-b', timestamp: at(30), hostRole: 'relay', depth: 3 },
  ]);
  assert.deepEqual(
    [...a.latestByNode].map(([node, s]) => [node, s.time, s.role]),
    [
      ['mq-a', T0 + 30_000, 'mta'],
      ['mq-b', T0 + 30_000, 'relay'],
    ],
  );
  const b = prepareBatch(probeMailq, schema, [{ queue: 'active', host: 'mq-a', timestamp: at(60), hostRole: 'backup', depth: 0 }]);
  const merged = mergeBatches([a, b]);
  assert.deepEqual(
    [...merged.latestByNode].map(([node, s]) => [node, s.time, s.role]),
    [
      ['mq-a', T0 + 60_000, 'backup'],
      ['mq-b', T0 + 30_000, 'relay'],
    ],
  );
  const none = prepareBatch(probeService, ingestRowSchema(probeService), [{ service: 'smtp-out', address: '::1', timestamp: at(0) }]);
  assert.equal(none.latestByNode.size, 0);
  assert.equal(mergeBatches([none, none]).latestByNode.size, 0);
});

/** Whole 5-minute bucket k+2 back from now: each database test writes and reads its own bucket. */
// Slots are counted from one 5-minute boundary taken once: computed per test, a boundary passing
// between two tests gave one test's slot 1 the other's slot 0 (their rows met in one query).
const SLOT_BASE = Math.floor(Date.now() / 300_000) * 300_000;

function slot(k: number) {
  const t = SLOT_BASE - (k + 2) * 300_000;
  return { from: new Date(t), to: new Date(t + 300_000), at: (s: number) => new Date(t + s * 1000).toISOString() };
}

forEachBackend('families with and without a node column', (kind) => {
  let m: MigratedDatabase;
  let store: TimeseriesStore;
  const nodeIds = async () => (await m.db.queryMany<{ id: string }>('SELECT id FROM nodes ORDER BY id')).map((r) => r.id);
  before(async () => {
    m = await openMigrated(kind);
    await createNodeFamilies(m.db, m.tier);
    store = new TimeseriesStore({ db: m.db, tier: m.tier, families: NODE_TEST_FAMILIES });
  });
  after(async () => {
    await m.close();
  });

  test('a family without a node column stores its rows and creates no nodes row (direct and group-commit writes)', async () => {
    const { at } = slot(0);
    const nodesBefore = await nodeIds();
    const res = await store.ingest('probe_service', [
      { service: 'pop3', address: '192.0.2.7', timestamp: at(0), up: 1, latencyMs: 10 },
      { service: 'pop3', address: '::1', timestamp: at(0), up: 0 },
    ]);
    assert.deepEqual(res, { family: 'probe_service', received: 2, inserted: 2, duplicates: 0 });
    const writer = new WriteCoalescer(store);
    const batches = [
      store.prepare('probe_service', [{ service: 'pop3', address: '::1', timestamp: at(30), up: 1, latencyMs: 2 }]),
      store.prepare('probe_service', [{ service: 'pop3', address: '::1', timestamp: at(60), up: 0, latencyMs: 4 }]),
    ];
    assert.deepEqual(await Promise.all(batches.map((b) => writer.write('probe_service', b))), [1, 1]);
    const stored = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_probe_service WHERE service = 'pop3'`);
    assert.equal(stored?.n, 4);
    assert.deepEqual(await nodeIds(), nodesBefore);
    assert.equal(nodesBefore.includes('pop3'), false);
  });

  test('queries of a family without a node column answer by identity on raw rows and rollups', async () => {
    const { from, to, at } = slot(1);
    await store.ingest('probe_service', [
      { service: 'smtp-out', address: '192.0.2.7', timestamp: at(0), up: 1, latencyMs: 10 },
      { service: 'smtp-out', address: '192.0.2.7', timestamp: at(30), up: 1, latencyMs: 30 },
      { service: 'smtp-out', address: '2001:db8::7', timestamp: at(0), up: 0, latencyMs: 5 },
      { service: 'imap', address: '::1', timestamp: at(0), up: 1 },
      { service: 'imap', address: '::1', timestamp: at(30), up: 1, latencyMs: 2 },
      { service: 'imap', address: '::1', timestamp: at(60), up: 0, latencyMs: 4 },
    ]);
    const raw = await store.query('probe_service', { from, to, resolution: 'raw', fields: ['up'] });
    // series-major: identity (service, address) in order, then time
    assert.deepEqual(
      raw.points.map((p) => [p.service, p.address, p.timestamp, p.up]),
      [
        ['imap', '::1', at(0), 1],
        ['imap', '::1', at(30), 1],
        ['imap', '::1', at(60), 0],
        ['smtp-out', '192.0.2.7', at(0), 1],
        ['smtp-out', '192.0.2.7', at(30), 1],
        ['smtp-out', '2001:db8::7', at(0), 0],
      ],
    );
    const agg = await store.query('probe_service', { from, to, resolution: '5m' });
    assert.deepEqual(
      agg.points.map((p) => [p.service, p.address, p.timestamp, p.up, p.latencyMs, p.samples]),
      [
        ['imap', '::1', at(0), 0, 3, 3],
        ['smtp-out', '192.0.2.7', at(0), 1, 20, 2],
        ['smtp-out', '2001:db8::7', at(0), 0, 5, 1],
      ],
    );
  });

  test('a node filter on a family without a node column is refused (NODE_FILTER_UNSUPPORTED), raw or rollup', async () => {
    const { from, to } = slot(2);
    for (const resolution of ['raw', '1h', 'auto'] as const) {
      await assert.rejects(
        () => store.query('probe_service', { from, to, nodeIds: ['smtp-out'], resolution }),
        (e: unknown) => e instanceof QueryError && e.code === 'NODE_FILTER_UNSUPPORTED' && /probe_service has no node column/.test(e.message),
        resolution,
      );
    }
  });

  test('a node column that is not first registers its nodes with last_seen, role and the sampling interval', async () => {
    const { at } = slot(3);
    await store.ingest('probe_mailq', [
      { queue: 'active', host: 'reg-a', timestamp: at(0), hostRole: 'mta', depth: 4 },
      { queue: 'deferred', host: 'reg-a', timestamp: at(0), hostRole: 'mta', depth: 9 },
      { queue: 'active', host: 'reg-a', timestamp: at(30), hostRole: 'mta', depth: 6 },
      { queue: 'active', host: 'reg-b', timestamp: at(0), hostRole: 'relay', depth: 1 },
    ]);
    const rows = await m.db.queryMany<{ id: string; role: string | null; last_seen: Date; expected_interval_seconds: number }>(
      `SELECT id, role, last_seen, expected_interval_seconds FROM nodes WHERE id IN ('reg-a', 'reg-b', 'active', 'deferred') ORDER BY id`,
    );
    assert.deepEqual(
      rows.map((r) => [r.id, r.role, r.last_seen.toISOString(), r.expected_interval_seconds]),
      [
        ['reg-a', 'mta', at(30), 30],
        ['reg-b', 'relay', at(0), 30],
      ],
    );
  });

  test('a node filter selects rows by the node column, on raw rows and rollups', async () => {
    const { from, to, at } = slot(4);
    await store.ingest('probe_mailq', [
      { queue: 'active', host: 'q-a', timestamp: at(0), hostRole: 'mta', depth: 4 },
      { queue: 'deferred', host: 'q-a', timestamp: at(0), hostRole: 'mta', depth: 9 },
      { queue: 'active', host: 'q-a', timestamp: at(30), hostRole: 'mta', depth: 6 },
      { queue: 'active', host: 'q-b', timestamp: at(0), hostRole: 'relay', depth: 1 },
    ]);
    const raw = await store.query('probe_mailq', { from, to, nodeIds: ['q-a'], resolution: 'raw', fields: ['depth'] });
    assert.deepEqual(
      raw.points.map((p) => [p.queue, p.host, p.timestamp, p.depth]),
      [
        ['active', 'q-a', at(0), 4],
        ['active', 'q-a', at(30), 6],
        ['deferred', 'q-a', at(0), 9],
      ],
    );
    const agg = await store.query('probe_mailq', { from, to, nodeIds: ['q-b'], resolution: '5m', fields: ['depth'] });
    assert.deepEqual(
      agg.points.map((p) => [p.queue, p.host, p.depth, p.samples]),
      [['active', 'q-b', 1, 1]],
    );
    // a value of another identity column is not a node: no rows
    const none = await store.query('probe_mailq', { from, to, nodeIds: ['active'], resolution: 'raw' });
    assert.deepEqual(none.points, []);
  });
});
