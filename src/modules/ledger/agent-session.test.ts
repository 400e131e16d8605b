/**
 * examples/agent-session.ts run as a separate process against Opsdeck
 * listening on a free port, as a user would run it against `npm start`.
 * One backend (the ledger itself is tested on all three in ledger.test.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { enabledBackends } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { createTestUser, TEST_USER_PASSWORD } from '../../../test/support/auth.ts';

const run = promisify(execFile);
const kind = enabledBackends().includes('postgres') ? 'postgres' : (enabledBackends()[0] ?? 'pglite');
const script = fileURLToPath(new URL('../../../examples/agent-session.ts', import.meta.url));
let rt: TestRuntime;

before(async () => {
  rt = await buildTestRuntime(kind);
  await createTestUser(rt, 'example-admin', 'admin');
  await rt.app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await rt.destroy();
});

test(`examples/agent-session.ts records a whole session [${kind}]`, { timeout: 120_000 }, async () => {
  const port = (rt.app.server.address() as AddressInfo).port;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, OPSDECK_URL: `http://127.0.0.1:${port}`, OPSDECK_ADMIN_USER: 'example-admin', OPSDECK_ADMIN_PASSWORD: TEST_USER_PASSWORD },
    timeout: 110_000,
  });
  const lines = stdout.trim().split('\n');
  assert.match(stdout, /restart held for approval by operator; run \d+ is awaiting_approval/);
  const summary = JSON.parse(lines[lines.length - 1]!);
  // 13 events: queued, running, the plan message, llm, tool, llm, held tool call, awaiting_approval, running
  // (approved), the restart's result, the health check, the artifact, succeeded.
  assert.equal(summary.status, 'succeeded');
  assert.equal(summary.events, 13);
  assert.equal(summary.llmCalls, 2);
  assert.equal(summary.toolCalls, 3);
  assert.match(summary.approvedBy, /^example-operator-/);
  // claude-sonnet-4-5 at 3.00 / 0.30 cached / 15.00 per 1M tokens:
  // (1,200 × 3 + 3,000 × 0.30 + 350 × 15) / 10⁶ + (1,900 × 3 + 4,200 × 0.30 + 220 × 15) / 10⁶ = 0.00975 + 0.01026
  assert.ok(Math.abs(summary.cost - 0.02001) < 1e-12, String(summary.cost));
  const runRow = await rt.db.queryOne<{ status: string; node_id: string }>('SELECT status, node_id FROM task_runs WHERE id = $1', [summary.runId]);
  assert.deepEqual(runRow, { status: 'succeeded', node_id: 'pedro' });
  const artifact = await rt.db.queryOne<{ name: string; media_type: string }>('SELECT name, media_type FROM artifacts WHERE run_id = $1', [summary.runId]);
  assert.deepEqual(artifact, { name: 'report.txt', media_type: 'text/plain' });
});
