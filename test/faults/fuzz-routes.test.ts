/**
 * Fault suite item 9: property-based fuzzing of every route, derived from the
 * app's own OpenAPI document (rt.app.swagger()). For each operation fast-check
 * generates path parameters, query strings and bodies from the declared
 * schemas — valid values, wrong types (fc.anything), hostile strings, malformed
 * encodings and content types — and sends them with an admin token:
 *   - no answer is a 5xx;
 *   - every rejection (4xx) is application/problem+json with a string `code`
 *     and the answer's status.
 * POST /api/v1/metrics also gets rows built from the real family declarations
 * (types, bounds, accepted texts), so ingest is fuzzed below the envelope, down
 * to the database.
 *
 * FUZZ_RUNS (default 30) runs per route; a failure prints fast-check's seed
 * and the shrunk counterexample. FUZZ_DEBUG=1 prints every 4xx answer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import type { Family } from '../../src/timeseries/family.ts';
import { buildTestRuntime, type TestRuntime } from '../support/app.ts';
import { createTestUser, loginAs, TEST_USER_PASSWORD } from '../support/auth.ts';
import { BASE_TIME, skipUnlessServer } from './support.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 30);

type Schema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema | boolean;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
};

interface Operation {
  method: string;
  path: string;
  parameters?: { in: string; name: string; required?: boolean; schema: Schema }[];
  requestBody?: { content?: Record<string, { schema: Schema }> };
}

const HOSTILE_STRINGS = fc.constantFrom(
  "'",
  "'; DROP TABLE nodes; --",
  '" OR 1=1 --',
  '$1',
  '\\',
  '%',
  '%00',
  'a\u0000b',
  '𝔘🙂',
  '\u202E',
  '__proto__',
  'constructor',
  'toString',
  '',
  ' ',
  'a'.repeat(300),
  'NaN',
  '-1',
  '1e309',
  '9007199254740993',
  '2024-02-30T00:00:00Z',
  'null',
  'true',
  '[]',
  '{}',
);

const anyJson = fc.anything({ maxDepth: 3, maxKeys: 5, withNullPrototype: false });

/** Values that are wrong for almost any schema. */
const WRONG: fc.Arbitrary<unknown> = fc.oneof(
  anyJson,
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(anyJson, { maxLength: 4 }),
  HOSTILE_STRINGS,
);

const recentIso = fc.integer({ min: -30 * 86_400, max: 600 }).map((s) => new Date(Date.now() + s * 1000).toISOString());

function typesOf(s: Schema): string[] {
  if (Array.isArray(s.type)) return s.type;
  return s.type ? [s.type] : [];
}

type Gen = (s: Schema | undefined, depth: number) => fc.Arbitrary<unknown>;

/** Values the schema accepts (as far as a generator can tell); nested values come from `inner` (fuzz: wrong ones too). */
function validFor(s: Schema | undefined, depth = 0, inner: Gen = validFor): fc.Arbitrary<unknown> {
  if (!s || depth > 4) return anyJson;
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const alts = s.anyOf ?? s.oneOf;
  if (alts?.length) return fc.oneof(...alts.map((a) => validFor(a, depth + 1, inner)));
  if (s.allOf?.length) return validFor(s.allOf[0], depth + 1, inner);
  const types = typesOf(s);
  if (types.length > 1) return fc.oneof(...types.map((t) => validFor({ ...s, type: t }, depth + 1, inner)));
  switch (types[0]) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer': {
      const min = Math.max(s.minimum ?? -1e9, -1e9);
      const max = Math.min(s.maximum ?? 1e9, 1e9);
      return fc.integer({ min: Math.ceil(min), max: Math.max(Math.ceil(min), Math.floor(max)) });
    }
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true, min: s.minimum ?? -1e12, max: s.maximum ?? 1e12 });
    case 'string': {
      if (s.format === 'date-time') return recentIso;
      if (s.format === 'email' && !s.pattern) return fc.emailAddress();
      const maxLength = Math.min(s.maxLength ?? 40, 80);
      const minLength = Math.min(s.minLength ?? 0, maxLength);
      if (s.pattern) {
        try {
          return fc.stringMatching(new RegExp(s.pattern)).filter((x) => x.length >= minLength && x.length <= maxLength);
        } catch {
          // fall through: a pattern fast-check cannot generate from
        }
      }
      return fc.string({ unit: 'grapheme', minLength, maxLength });
    }
    case 'array':
      return fc.array(inner(s.items, depth + 1), { minLength: Math.min(s.minItems ?? 0, 3), maxLength: Math.min(s.maxItems ?? 4, 4) });
    case 'object': {
      const props = s.properties ?? {};
      const required = new Set(s.required ?? []);
      const shape: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(props)) shape[k] = inner(v, depth + 1);
      const rec = fc.record(shape, { requiredKeys: Object.keys(props).filter((k) => required.has(k)) });
      if (s.additionalProperties && typeof s.additionalProperties === 'object') {
        return fc.tuple(rec, fc.dictionary(fc.string({ maxLength: 12 }), inner(s.additionalProperties, depth + 1), { maxKeys: 4 })).map(([a, b]) => ({ ...b, ...a }));
      }
      return rec;
    }
    default:
      return anyJson;
  }
}

/** Mostly valid, sometimes wrong, sometimes hostile. */
function fuzz(s: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 5, arbitrary: validFor(s, depth, fuzz) }, { weight: 2, arbitrary: WRONG }, { weight: 1, arbitrary: HOSTILE_STRINGS });
}

/** A value as query-string text: arrays repeat the parameter. */
function queryValues(v: unknown): string[] {
  if (v === undefined) return [];
  if (Array.isArray(v)) return v.flatMap((x) => (Array.isArray(x) ? [JSON.stringify(x)] : queryValues(x)));
  if (v !== null && typeof v === 'object') return [JSON.stringify(v)];
  return [String(v)];
}

/** encodeURIComponent, except that text it cannot encode (lone surrogates) is sent as a malformed escape. */
function encode(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%E0%A4%A';
  }
}

describe('fault: property-based fuzzing of every route from its OpenAPI schema', { skip: skipUnlessServer }, () => {
  let rt: TestRuntime;
  let admin: string;
  let admins = 0;
  const operations: Operation[] = [];
  let families: readonly Family[] = [];
  const tally = new Map<string, Map<number, number>>();

  before(async () => {
    rt = await buildTestRuntime('postgres');
    admin = await loginAs(rt, 'admin');
    const doc = rt.app.swagger() as { paths: Record<string, Record<string, Omit<Operation, 'method' | 'path'>>> };
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        // Server-sent-event streams stay open by design (an in-app feed, a live run's events): a fuzzed
        // request would never end. Their refusals and streams are tested in their modules.
        if (path.endsWith('/stream')) continue;
        if (['get', 'post', 'put', 'patch', 'delete'].includes(method)) operations.push({ method: method.toUpperCase(), path, ...op });
      }
    }
    families = rt.store.families();
  });
  after(async () => {
    await rt?.destroy();
  });

  /** The fuzzing may disable or demote its own user (PATCH /users/{id}): then it continues as a new admin. */
  async function ensureAdmin(): Promise<void> {
    const me = await rt.app.inject({ url: '/api/v1/auth/me', headers: { authorization: admin } });
    if (me.statusCode === 200 && (me.json() as { role: string; disabled: boolean }).role === 'admin') return;
    const name = `fuzz-admin-${++admins}`;
    await createTestUser(rt, name, 'admin');
    // From an address of its own: the fuzzed logins have used up the failed-login budget of 127.0.0.1.
    const res = await rt.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: name, password: TEST_USER_PASSWORD },
      remoteAddress: `10.66.0.${admins % 250}`,
    });
    assert.equal(res.statusCode, 200, res.body);
    admin = `Bearer ${(res.json() as { accessToken: string }).accessToken}`;
  }

  /** Values a column accepts, from its declaration (type, bounds, accepted texts). */
  function columnValue(c: Family['columns'][number]): fc.Arbitrary<unknown> {
    switch (c.type) {
      case 'boolean':
        return fc.boolean();
      case 'text':
        return c.values?.length ? fc.constantFrom(...c.values) : fc.string({ unit: 'grapheme', maxLength: 40 });
      case 'integer':
      case 'bigint': {
        const min = Math.ceil(Math.max(c.min ?? 0, -1e12));
        const max = Math.floor(Math.min(c.max ?? (c.type === 'integer' ? 2 ** 31 - 1 : 2 ** 53 - 1), 2 ** 53 - 1));
        return fc.integer({ min, max: Math.max(min, Math.min(max, 2 ** 31 - 1)) });
      }
      case 'double':
        return fc.double({ noNaN: true, noDefaultInfinity: true, min: c.min ?? -1e12, max: c.max ?? 1e12 });
    }
  }

  /**
   * Ingest bodies built from the family declarations: valid rows (every field
   * within its declaration), or rows where any field may be wrong, out of
   * range, hostile or unknown.
   */
  function metricsBody(valid: boolean): fc.Arbitrary<unknown> {
    const camel = (x: string) => x.replace(/_([a-z0-9])/g, (_m, ch: string) => ch.toUpperCase());
    const row = (f: Family) => {
      const maybe = (a: fc.Arbitrary<unknown>) => (valid ? a : fc.oneof({ weight: 5, arbitrary: a }, { weight: 1, arbitrary: WRONG }));
      const shape: Record<string, fc.Arbitrary<unknown>> = {
        timestamp: maybe(fc.integer({ min: 0, max: 86_400 }).map((sec) => new Date(BASE_TIME + sec * 1000).toISOString())),
      };
      for (const id of f.identity) shape[camel(id)] = maybe(fc.stringMatching(/^[a-z][a-z0-9.-]{0,20}$/));
      for (const c of f.columns) {
        shape[c.field] = valid
          ? columnValue(c)
          : fc.oneof(
              { weight: 6, arbitrary: columnValue(c) },
              { weight: 1, arbitrary: fc.constantFrom(-1, 2 ** 31, 2 ** 53 + 2, -(2 ** 63), 1e300, -0, 0.5) },
              { weight: 1, arbitrary: WRONG },
            );
      }
      const rec = fc.record(shape, { requiredKeys: f.identity.map(camel) });
      return valid ? rec : fc.tuple(rec, fc.dictionary(fc.string({ maxLength: 12 }), WRONG, { maxKeys: 1 })).map(([r, extra]) => ({ ...extra, ...r }));
    };
    return fc.oneof(
      ...families.map((f) =>
        fc.record({
          type: valid ? fc.constant(f.key) : fc.oneof({ weight: 6, arbitrary: fc.constant(f.key) }, { weight: 1, arbitrary: WRONG }),
          data: valid ? fc.oneof(row(f), fc.array(row(f), { minLength: 1, maxLength: 6 })) : fc.oneof({ weight: 4, arbitrary: fc.oneof(row(f), fc.array(row(f), { maxLength: 6 })) }, { weight: 1, arbitrary: WRONG }),
        }),
      ),
    );
  }

  interface Sample {
    path: Record<string, unknown>;
    rawPath: string | null;
    query: [string, unknown][];
    rawQuery: string | null;
    body: unknown;
    bodyMode: 'json' | 'invalid-json' | 'gzip' | 'none';
    contentType: string | undefined;
  }

  /**
   * Half the samples are schema-valid throughout (so the handlers and the
   * database are reached), half are fuzzed: any parameter may be wrong or
   * hostile, and the encoding, content type and JSON may be broken.
   */
  function sampleFor(op: Operation): fc.Arbitrary<Sample> {
    // Valid samples of a family's route use that family's field names.
    const validOnes = op.path.includes('{family}') ? fc.constantFrom(...families).chain((f) => samples(op, true, f)) : samples(op, true);
    return fc.oneof(validOnes, samples(op, false));
  }

  function samples(op: Operation, valid: boolean, family?: Family): fc.Arbitrary<Sample> {
    const pick = (s: Schema | undefined) => (valid ? validFor(s) : fuzz(s));
    const params = op.parameters ?? [];
    const pathShape: Record<string, fc.Arbitrary<unknown>> = {};
    for (const p of params.filter((x) => x.in === 'path')) {
      pathShape[p.name] =
        p.name === 'family'
          ? family
            ? fc.constant(family.key)
            : fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...families.map((f) => f.key)) }, { weight: 1, arbitrary: pick(p.schema) })
          : pick(p.schema);
    }
    const fieldNames = [...new Set((family ? [family] : families).flatMap((f) => f.columns.map((x) => x.field)))];
    const nodeIds = fc.array(fc.stringMatching(/^[a-z][a-z0-9.-]{0,20}$/), { minLength: 1, maxLength: 3 });
    // `from` and `to` as an ordered pair in valid samples (a reversed range is a 400 by design).
    const range = fc.tuple(fc.integer({ min: -40 * 86_400, max: 86_400 }), fc.integer({ min: 1, max: 7 * 86_400 })).map(([start, span]) => ({
      from: new Date(BASE_TIME + start * 1000).toISOString(),
      to: new Date(BASE_TIME + (start + span) * 1000).toISOString(),
    }));
    const queryArbs = params
      .filter((x) => x.in === 'query')
      .map((p) => {
        const hinted =
          p.name === 'fields'
            ? fc.subarray(fieldNames, { maxLength: 4 }).map((a) => a.join(','))
            : p.name === 'nodeId'
              ? fc.oneof(nodeIds.map((a) => a.join(',')), nodeIds)
              : p.name === 'from' || p.name === 'to'
                ? range.map((r) => r[p.name as 'from' | 'to'])
                : validFor(p.schema);
        const value = valid ? hinted : fc.oneof({ weight: 2, arbitrary: hinted }, { weight: 3, arbitrary: fuzz(p.schema) });
        return fc.option(value.map((v) => [p.name, v] as [string, unknown]), { nil: undefined });
      });
    const hasRange = params.some((x) => x.name === 'from') && params.some((x) => x.name === 'to');
    const extraQuery = fc.array(fc.tuple(fc.constantFrom('sort', 'order', 'filter', 'limit', 'offset', '__proto__', 'constructor', 'x'), valid ? fc.string({ maxLength: 10 }) : WRONG), {
      maxLength: 2,
    });
    const query = fc.tuple(fc.tuple(...queryArbs), extraQuery, range).map(([known, extra, r]) => {
      let q = known.filter((x): x is [string, unknown] => x !== undefined);
      if (valid && hasRange) q = [...q.filter(([k]) => k !== 'from' && k !== 'to'), ['from', r.from], ['to', r.to]];
      return [...q, ...extra];
    });
    const bodySchema = op.requestBody?.content?.['application/json']?.schema;
    const body =
      op.method === 'POST' && op.path === '/api/v1/metrics'
        ? valid
          ? metricsBody(true)
          : fc.oneof({ weight: 3, arbitrary: metricsBody(false) }, { weight: 1, arbitrary: fuzz(bodySchema) })
        : bodySchema
          ? valid
            ? validFor(bodySchema)
            : fc.oneof({ weight: 4, arbitrary: fuzz(bodySchema) }, { weight: 1, arbitrary: anyJson })
          : valid
            ? fc.constant(undefined)
            : fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: anyJson });
    if (valid) {
      return fc.record({
        path: fc.record(pathShape, { requiredKeys: Object.keys(pathShape) }),
        rawPath: fc.constant(null),
        query,
        rawQuery: fc.constant(null),
        body,
        bodyMode: fc.constant<Sample['bodyMode']>('json'),
        contentType: fc.constant<string | undefined>('application/json'),
      });
    }
    return fc.record({
      path: fc.record(pathShape, { requiredKeys: Object.keys(pathShape) }),
      rawPath: fc.option(fc.constantFrom('%ZZ', '%', '..%2F..', '%E0%A4%A', 'a%2Fb', '%00'), { nil: null, freq: 6 }),
      query,
      rawQuery: fc.option(fc.constantFrom('%', 'a=%ZZ', '&&&', '=x', 'nodeId[]=a&nodeId[x]=b', 'fields=%E0%A4%A', 'from[$gt]=1'), { nil: null, freq: 6 }),
      body,
      bodyMode: fc.oneof({ weight: 8, arbitrary: fc.constant<Sample['bodyMode']>('json') }, { weight: 1, arbitrary: fc.constantFrom<Sample['bodyMode']>('invalid-json', 'gzip', 'none') }),
      contentType: fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom<string | undefined>('application/json', 'application/json; charset=utf-8') },
        { weight: 1, arbitrary: fc.constantFrom<string | undefined>('text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'application/json; charset=latin1', undefined) },
      ),
    });
  }

  async function send(op: Operation, s: Sample): Promise<LightMyRequestResponse> {
    let url = op.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
      if (s.rawPath) return s.rawPath;
      const v = queryValues(s.path[name])[0] ?? '';
      return encode(v);
    });
    const q = s.query.flatMap(([k, v]) => queryValues(v).map((x) => `${encode(k)}=${encode(x)}`));
    if (s.rawQuery) q.push(s.rawQuery);
    if (q.length) url += `?${q.join('&')}`;
    const headers: Record<string, string> = { authorization: admin };
    let payload: string | Buffer | undefined;
    if (op.method !== 'GET' && op.method !== 'DELETE' && s.bodyMode !== 'none') {
      const text = s.body === undefined ? '' : (JSON.stringify(s.body) ?? '');
      payload = s.bodyMode === 'invalid-json' ? `${text.slice(0, -1)}` || '{' : s.bodyMode === 'gzip' ? gzipSync(text) : text;
      if (s.bodyMode === 'gzip') headers['content-encoding'] = 'gzip';
      if (s.contentType) headers['content-type'] = s.contentType;
    }
    return rt.app.inject({ method: op.method as 'GET', url, headers, ...(payload !== undefined ? { payload } : {}) });
  }

  test('the OpenAPI document lists the routes to fuzz', () => {
    assert.ok(operations.length >= 20, `${operations.length} operations`);
    assert.ok(operations.some((o) => o.method === 'POST' && o.path === '/api/v1/metrics'));
    assert.ok(families.length >= 1);
  });

  // One subtest per operation (the operations are known only once the app is built).
  test('every route: no 5xx; every rejection is problem+json with a code', { timeout: 1_500_000 }, async (t) => {
    for (const op of operations) {
      await t.test(`${op.method} ${op.path}`, async () => {
        const counts = new Map<number, number>();
        tally.set(`${op.method} ${op.path}`, counts);
        await fc.assert(
          fc.asyncProperty(sampleFor(op), async (sample) => {
            const res = await send(op, sample);
            counts.set(res.statusCode, (counts.get(res.statusCode) ?? 0) + 1);
            if (process.env.FUZZ_DEBUG && res.statusCode >= 400) console.log(op.method, op.path, res.statusCode, res.body.slice(0, 300));
            const what = `${op.method} ${op.path} → ${res.statusCode}: ${res.body.slice(0, 300)}`;
            assert.ok(res.statusCode < 500, what);
            if (res.statusCode >= 400) {
              assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
              const body = JSON.parse(res.body) as { code?: unknown; status?: unknown };
              assert.equal(typeof body.code, 'string', what);
              assert.equal(body.status, res.statusCode, what);
            }
            if (op.method !== 'GET' && res.statusCode < 300) await ensureAdmin();
          }),
          { numRuns: RUNS, endOnFailure: false },
        );
        t.diagnostic(`${op.method} ${op.path}: ${[...counts].sort((a, b) => a[0] - b[0]).map(([st, n]) => `${st}×${n}`).join(' ')}`);
      });
    }
    // Some inputs of every kind got through: the fuzzing reached the handlers, not only the validators.
    const accepted = [...tally.values()].reduce((s, m) => s + [...m].filter(([st]) => st < 300).reduce((a, [, n]) => a + n, 0), 0);
    assert.ok(accepted > operations.length, `${accepted} accepted requests`);
  });
});
