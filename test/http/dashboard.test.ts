/**
 * Serving the web dashboard (plain HTTP through the real app; the pages themselves are
 * tested in a browser by test/e2e/dashboard.test.ts): `/` and client-side routes get
 * index.html with the page CSP and no-cache; assets have content-hashed names, a year of
 * cache, and gzip/brotli forms; the API keeps its own 404 and CSP. One backend: nothing
 * here touches storage.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { buildTestRuntime, type TestRuntime } from '../support/app.ts';
import { enabledBackends } from '../support/backends.ts';

let rt: TestRuntime;
const kind = enabledBackends().includes('postgres') ? 'postgres' : (enabledBackends()[0] ?? 'pglite');
const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

before(async () => {
  rt = await buildTestRuntime(kind);
});
after(async () => {
  await rt.destroy();
});

/** The CSP directives of a header value, name → value. */
function directives(csp: string): Map<string, string> {
  return new Map(csp.split(';').map((d) => d.trim()).filter(Boolean).map((d) => [d.split(/\s+/)[0]!, d.split(/\s+/).slice(1).join(' ')]));
}

function assetNames(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)].map((m) => m[1]!);
}

test('/ is index.html with a strict CSP (no inline or eval), nosniff, no-referrer and no-cache', async () => {
  const res = await rt.app.inject({ method: 'GET', url: '/', headers: { accept: HTML } });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/html/);
  assert.match(res.body, /<div id="app">/);
  const csp = String(res.headers['content-security-policy']);
  const d = directives(csp);
  assert.equal(d.get('default-src'), "'self'");
  assert.equal(d.get('frame-ancestors'), "'none'");
  assert.equal(d.get('base-uri'), "'none'");
  assert.equal(d.get('object-src'), "'none'");
  assert.ok(!csp.includes('unsafe-inline'), csp);
  assert.ok(!csp.includes('unsafe-eval'), csp);
  for (const k of ['script-src', 'style-src', 'connect-src']) assert.ok(!d.has(k) || d.get(k) === "'self'", `${k}: ${d.get(k)}`);
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.equal(res.headers['referrer-policy'], 'no-referrer');
  assert.equal(res.headers['cache-control'], 'no-cache');
  // No inline script or style in the page itself (the CSP would block it anyway).
  assert.doesNotMatch(res.body, /<script(?![^>]*\bsrc=)[^>]*>/);
  assert.doesNotMatch(res.body, /<style|\sstyle=/);
});

test('a client-side route asked for as HTML gets the same page; without text/html it is a 404 problem', async () => {
  const page = await rt.app.inject({ method: 'GET', url: '/nodes/mx-1?range=6h', headers: { accept: HTML } });
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<div id="app">/);
  assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
  const json = await rt.app.inject({ method: 'GET', url: '/nodes/mx-1', headers: { accept: 'application/json' } });
  assert.equal(json.statusCode, 404);
  assert.match(String(json.headers['content-type']), /^application\/problem\+json/);
  const post = await rt.app.inject({ method: 'POST', url: '/nodes/mx-1', headers: { accept: HTML } });
  assert.equal(post.statusCode, 404);
});

test('an unknown /api path asked for as HTML is still a problem+json 404, not the page', async () => {
  const res = await rt.app.inject({ method: 'GET', url: '/api/v1/no-such-thing', headers: { accept: HTML } });
  assert.equal(res.statusCode, 404);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  assert.equal(res.json().code, 'NOT_FOUND');
  assert.equal(res.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  const known = await rt.app.inject({ method: 'GET', url: '/api/v1/nodes', headers: { accept: HTML } });
  assert.equal(known.statusCode, 401);
});

test('assets have content-hashed names, a year of immutable cache, and gzip and brotli forms of the same bytes', async () => {
  const html = (await rt.app.inject({ method: 'GET', url: '/', headers: { accept: HTML } })).body;
  const names = assetNames(html);
  assert.equal([...html.matchAll(/<script /g)].length, 1, html);
  assert.match(html, /<script type="module" src="\/assets\/main-[A-Z0-9]{8}\.js"><\/script>/);
  assert.equal(names.filter((n) => n.endsWith('.css')).length, 1, html);
  for (const name of names) {
    assert.match(name, /^(main|chunk)-[A-Z0-9]{8}\.(js|css)$/);
    const plain = await rt.app.inject({ method: 'GET', url: `/assets/${name}` });
    assert.equal(plain.statusCode, 200);
    assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.match(String(plain.headers['content-type']), name.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
    assert.match(String(plain.headers.vary), /accept-encoding/i);
    const br = await rt.app.inject({ method: 'GET', url: `/assets/${name}`, headers: { 'accept-encoding': 'gzip, deflate, br' } });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.ok(br.rawPayload.length < plain.rawPayload.length);
    assert.deepEqual(brotliDecompressSync(br.rawPayload), plain.rawPayload);
    const gz = await rt.app.inject({ method: 'GET', url: `/assets/${name}`, headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(gunzipSync(gz.rawPayload), plain.rawPayload);
    const again = await rt.app.inject({ method: 'GET', url: `/assets/${name}`, headers: { 'if-none-match': String(plain.headers.etag) } });
    assert.equal(again.statusCode, 304);
  }
  const missing = await rt.app.inject({ method: 'GET', url: '/assets/main-AAAAAAAA.js' });
  assert.equal(missing.statusCode, 404);
  assert.match(String(missing.headers['content-type']), /^application\/problem\+json/);
});

/** The modules a JS module imports, statically (`from"./x.js"`, or for its effects `import"./x.js"`) and on demand (`import("./x.js")`), by file name. */
function importsOf(js: string): { static: string[]; dynamic: string[] } {
  return {
    static: [...js.matchAll(/(?:from|import)\s*"\.\/([\w-]+\.js)"/g)].map((m) => m[1]!),
    dynamic: [...js.matchAll(/import\(\s*"\.\/([\w-]+\.js)"\s*\)/g)].map((m) => m[1]!),
  };
}

test('the dashboard is split by area: the entry preloads its static imports, every chunk it names is served like the entry, an unknown chunk is a 404', async () => {
  const html = (await rt.app.inject({ method: 'GET', url: '/', headers: { accept: HTML } })).body;
  const entry = /<script type="module" src="\/assets\/([^"]+)">/.exec(html)?.[1];
  assert.ok(entry, html);
  const js = (await rt.app.inject({ method: 'GET', url: `/assets/${entry}` })).body;
  const { static: shared, dynamic: areas } = importsOf(js);
  // The areas loaded on demand: mail, alerting set-up (ops), home lab, agents — one chunk each.
  assert.deepEqual(areas.map((n) => n.replace(/-[A-Z0-9]{8}\.js$/, '')).sort(), ['agents', 'lab', 'mail', 'ops']);
  assert.ok(shared.length >= 1, 'the entry imports shared code');
  // index.html preloads exactly the entry's static imports, none of the areas.
  const preloaded = [...html.matchAll(/<link rel="modulepreload" href="\/assets\/([^"]+)">/g)].map((m) => m[1]!);
  assert.deepEqual(preloaded.sort(), [...new Set(shared)].sort());
  // Every chunk reachable from the entry: hashed name, a year of immutable cache, brotli, JS type.
  const seen = new Set<string>();
  const queue = [...shared, ...areas];
  while (queue.length) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    assert.match(name, /^(chunk|mail|ops|lab|agents)-[A-Z0-9]{8}\.js$/);
    const res = await rt.app.inject({ method: 'GET', url: `/assets/${name}`, headers: { 'accept-encoding': 'br' } });
    assert.equal(res.statusCode, 200, name);
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable', name);
    assert.equal(res.headers['content-encoding'], 'br', name);
    assert.match(String(res.headers['content-type']), /^text\/javascript/, name);
    const body = brotliDecompressSync(res.rawPayload).toString();
    const more = importsOf(body);
    queue.push(...more.static, ...more.dynamic);
  }
  assert.ok(seen.size >= 5, [...seen].join(' '));
  // A chunk name of an older build (a tab open across a restart) is a 404 problem, not the page.
  const old = await rt.app.inject({ method: 'GET', url: '/assets/mail-AAAAAAAA.js', headers: { accept: '*/*' } });
  assert.equal(old.statusCode, 404);
  assert.match(String(old.headers['content-type']), /^application\/problem\+json/);
});

test('/docs keeps its own page and CSP', async () => {
  const res = await rt.app.inject({ method: 'GET', url: '/docs/', headers: { accept: HTML } });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-security-policy']), /script-src 'self'; style-src 'self' 'unsafe-inline'/);
  assert.doesNotMatch(res.body, /<div id="app">/);
});

test('OPSDECK_DASHBOARD=false: no page at /, the API only', async () => {
  const off = await buildTestRuntime(kind, { dashboard: false });
  try {
    const res = await off.app.inject({ method: 'GET', url: '/', headers: { accept: HTML } });
    assert.equal(res.statusCode, 404);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  } finally {
    await off.destroy();
  }
});
