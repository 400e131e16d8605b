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
