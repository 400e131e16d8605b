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
  assert.equal(names.filter((n) => n.endsWith('.js')).length, 1, html);
  assert.equal(names.filter((n) => n.endsWith('.css')).length, 1, html);
  for (const name of names) {
    assert.match(name, /^main-[A-Z0-9]{8}\.(js|css)$/);
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
