import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend } from '../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../test/support/app.ts';
import { loginAs } from '../../test/support/auth.ts';
import { containsLoneSurrogate } from './app.ts';

test('containsLoneSurrogate finds an unpaired UTF-16 surrogate in strings and keys, not a pair', () => {
  assert.equal(containsLoneSurrogate('\ud800'), true);
  assert.equal(containsLoneSurrogate('a\udc00b'), true);
  assert.equal(containsLoneSurrogate('\udbff\ud800'), true, 'high then high: both unpaired');
  assert.equal(containsLoneSurrogate({ a: ['x', { b: 'ok\ud83d' }] }), true);
  assert.equal(containsLoneSurrogate({ ['k\udfff']: 1 }), true);
  assert.equal(containsLoneSurrogate('🙂 \ud83d\ude42 é'), false, 'a surrogate pair is a valid character');
  assert.equal(containsLoneSurrogate({ a: [1, null, true, 'plain'] }), false);
});

forEachBackend('HTTP platform', (kind) => {
  let rt: TestRuntime;
  before(async () => {
    rt = await buildTestRuntime(kind);
  });
  after(async () => {
    await rt.destroy();
  });

  test('security headers on every answer; no-store on authenticated and token answers; /docs still loads under its CSP', async () => {
    const viewer = await loginAs(rt, 'viewer');
    const answers = {
      authenticated: await rt.app.inject({ url: '/api/v1/nodes', headers: { authorization: viewer } }),
      unauthenticated: await rt.app.inject({ url: '/api/v1/nodes' }),
      notFound: await rt.app.inject({ url: '/api/v1/no-such-route' }),
      publicHealth: await rt.app.inject({ url: '/health' }),
      login: await rt.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: 'wrong-password-xyz' } }),
      openapi: await rt.app.inject({ url: '/openapi.json' }),
    };
    assert.equal(answers.authenticated.statusCode, 200);
    for (const [what, res] of Object.entries(answers)) {
      assert.equal(res.headers['x-content-type-options'], 'nosniff', what);
      assert.equal(res.headers['referrer-policy'], 'no-referrer', what);
      assert.equal(res.headers['x-frame-options'], 'DENY', what);
      assert.equal(res.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'", what);
    }
    for (const what of ['authenticated', 'unauthenticated', 'login'] as const) assert.equal(answers[what].headers['cache-control'], 'no-store', what);

    // The documentation page: its own CSP allows only same-origin scripts, styles, images and requests.
    const page = await rt.app.inject({ url: '/docs/' });
    assert.equal(page.statusCode, 200, page.body);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.doesNotMatch(page.body, /<script>[^<]/, 'no inline script (the CSP would block it)');
    const scripts = [...page.body.matchAll(/<script src="([^"]+)"/g)].map((m) => new URL(m[1]!, 'http://x/docs/').pathname);
    assert.ok(scripts.length >= 2, page.body);
    for (const src of scripts) assert.equal((await rt.app.inject({ url: src })).statusCode, 200, src);
    const init = await rt.app.inject({ url: '/docs/static/swagger-initializer.js' });
    assert.equal(init.statusCode, 200);
    assert.match(init.body, /url: resolveUrl\('\.\/json'\)/, 'the page reads its spec from /docs/json (same origin: connect-src)');
    const spec = await rt.app.inject({ url: '/docs/json' });
    assert.equal(spec.statusCode, 200);
    assert.equal(spec.json().openapi, '3.1.0');
  });

  test('a lone UTF-16 surrogate in a body, path or query answers 400 INVALID_CHARACTER, never 500', async () => {
    const viewer = await loginAs(rt, 'viewer');
    const operator = await loginAs(rt, 'operator');
    const json = (payload: string, url: string, method: 'POST' | 'PUT', authorization: string) =>
      rt.app.inject({ method, url, headers: { authorization, 'content-type': 'application/json' }, payload });
    const cases = [
      ['saved-view config value', await json('{"name":"s1","config":{"title":"\\ud800"}}', '/api/v1/saved-views', 'POST', viewer)],
      ['saved-view config key', await json('{"name":"s2","config":{"\\udfff":1}}', '/api/v1/saved-views', 'POST', viewer)],
      ['saved-view name', await json('{"name":"x\\ud800","config":{}}', '/api/v1/saved-views', 'POST', viewer)],
      ['node label', await json('{"labels":{"rack":"\\ud800"}}', '/api/v1/nodes/sur-1', 'PUT', operator)],
      ['node hostname', await json('{"hostname":"h\\udc00"}', '/api/v1/nodes/sur-2', 'PUT', operator)],
    ] as const;
    for (const [what, res] of cases) {
      assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
      assert.equal(res.json().code, 'INVALID_CHARACTER', what);
    }
    // The UTF-8 bytes of a surrogate (ED A0 80) are not UTF-8: percent-decoded they become U+FFFD
    // (query) or a malformed URL (path), never a lone surrogate.
    const q = await rt.app.inject({ url: '/api/v1/nodes?role=a%ED%A0%80', headers: { authorization: viewer } });
    assert.equal(q.statusCode, 200, q.body);
    assert.equal(q.json().total, 0);
    const p = await rt.app.inject({ url: '/api/v1/nodes/x%ED%A0%80', headers: { authorization: viewer } });
    assert.equal(p.statusCode, 400, p.body);
    assert.equal(p.json().code, 'MALFORMED_URL');
    // A surrogate pair (an emoji written as an escape) is an ordinary character.
    const ok = await json('{"name":"smile \\ud83d\\ude42","config":{"icon":"\\ud83d\\ude42"}}', '/api/v1/saved-views', 'POST', viewer);
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(ok.json().config.icon, '🙂');
  });
});
