/**
 * Shutting down with a live event stream open: the stream ends (the client
 * gets a complete answer with the events so far) and the server closes
 * without waiting for the client's keep-alive connection to time out (72 s).
 * One backend: this is about the HTTP layer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { enabledBackends } from '../../../test/support/backends.ts';
import { buildTestRuntime } from '../../../test/support/app.ts';
import { createApiKey, loginAs } from '../../../test/support/auth.ts';

const kind = enabledBackends().includes('postgres') ? 'postgres' : (enabledBackends()[0] ?? 'pglite');

test(`closing Opsdeck ends live event streams and their connections [${kind}]`, { timeout: 40_000 }, async () => {
  const rt = await buildTestRuntime(kind);
  try {
    const agent = `Bearer ${await createApiKey(rt, ['ingest'])}`;
    const viewer = await loginAs(rt, 'viewer');
    const task = (await rt.app.inject({ method: 'POST', url: '/api/v1/tasks', headers: { authorization: agent }, payload: { title: 'long', prompt: 'p' } })).json();
    const run = (await rt.app.inject({ method: 'POST', url: `/api/v1/tasks/${task.id}/runs`, headers: { authorization: agent }, payload: { agent: 'a' } })).json();
    await rt.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (rt.app.server.address() as AddressInfo).port;
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/runs/${run.id}/events/stream`, { headers: { authorization: viewer } });
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('id: 1\n')) text += new TextDecoder().decode((await reader.read()).value);
    // The run is still queued: only the shutdown can end this stream.
    const closed = rt.close();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    assert.deepEqual([...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])), [1]);
    // Without the fix this waited for the keep-alive timeout (72 s) and the test's timeout failed it.
    await closed;
  } finally {
    await rt.destroy();
  }
});
