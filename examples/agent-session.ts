/**
 * An AI agent's session recorded in Opsdeck's agent ledger, against a running
 * Opsdeck: "Restart Plex and verify health".
 *
 *   OPSDECK_URL=http://127.0.0.1:8080 OPSDECK_ADMIN_USER=admin OPSDECK_ADMIN_PASSWORD=… \
 *     node --import tsx examples/agent-session.ts
 *
 * It registers a host and a workload, defines three tools and a policy (admin),
 * creates a task and runs it as an agent (an `ingest` API key): two LLM calls,
 * three tool calls — the restart needs an operator's approval, which an
 * operator gives — an artifact, and the run succeeds. It prints what the ledger
 * then knows: the run, its cost by model, its tool calls. The last line of
 * output is a JSON summary.
 *
 * Optional: OPSDECK_INGEST_KEY (the agent's key, scopes ingest and read — read to see
 * its run wait and resume; made with the admin when
 * missing), OPSDECK_APPROVER_USER / OPSDECK_APPROVER_PASSWORD (an operator;
 * `example-operator` is made with a random password when missing).
 * docs/agent-ledger.md explains each step.
 */
import { randomBytes } from 'node:crypto';

const BASE = (process.env.OPSDECK_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');

class ApiError extends Error {}

async function api<T = Record<string, unknown>>(auth: string, method: string, path: string, body?: unknown, expect: number[] = [200, 201]): Promise<T> {
  const res = await fetch(`${BASE}${path}`, {
    method,
    headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!expect.includes(res.status)) throw new ApiError(`${method} ${path} → ${res.status}: ${text.slice(0, 500)}`);
  return (text ? JSON.parse(text) : null) as T;
}

async function login(username: string, password: string): Promise<string> {
  const r = await api<{ accessToken: string }>('', 'POST', '/api/v1/auth/login', { username, password });
  return `Bearer ${r.accessToken}`;
}

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new ApiError(`set ${name} (see the header of examples/agent-session.ts)`);
  return v;
}

async function main(): Promise<void> {
  const admin = await login(need('OPSDECK_ADMIN_USER'), need('OPSDECK_ADMIN_PASSWORD'));
  const suffix = randomBytes(3).toString('hex');

  // The agent's credential: an API key with the ingest scope (writing) and read (to poll its approval).
  const agent = process.env.OPSDECK_INGEST_KEY
    ? `Bearer ${process.env.OPSDECK_INGEST_KEY}`
    : `Bearer ${(await api<{ key: string }>(admin, 'POST', '/api/v1/api-keys', { name: `example-agent-${suffix}`, scopes: ['ingest', 'read'] })).key}`;

  // The approver: an operator.
  let approverUser = process.env.OPSDECK_APPROVER_USER;
  let approverPassword = process.env.OPSDECK_APPROVER_PASSWORD;
  if (!approverUser || !approverPassword) {
    approverUser = `example-operator-${suffix}`;
    approverPassword = randomBytes(18).toString('base64url');
    await api(admin, 'POST', '/api/v1/users', { username: approverUser, password: approverPassword, role: 'operator', mustChangePassword: false });
  }
  const operator = await login(approverUser, approverPassword);

  // Admin: the tools agents may call and the policy that holds risky ones on production hosts.
  await api(admin, 'PUT', '/api/v1/tools/kubectl-get', {
    description: 'Read Kubernetes objects',
    riskLevel: 'low',
    argsSchema: { type: 'object', properties: { resource: { type: 'string' }, namespace: { type: 'string' } }, required: ['resource'], additionalProperties: false },
  });
  await api(admin, 'PUT', '/api/v1/tools/restart-workload', {
    description: 'Restart a deployment (kubectl rollout restart)',
    riskLevel: 'high',
    argsSchema: { type: 'object', properties: { workload: { type: 'string' }, namespace: { type: 'string' } }, required: ['workload', 'namespace'] },
  });
  await api(admin, 'PUT', '/api/v1/tools/http-check', {
    description: 'GET a URL and report the status',
    riskLevel: 'low',
    argsSchema: { type: 'object', properties: { url: { type: 'string', format: 'uri' }, expectStatus: { type: 'integer' } }, required: ['url'] },
  });
  const policies = await api<{ items: { id: number; name: string }[] }>(admin, 'GET', '/api/v1/policies');
  const policyName = 'production restarts need an operator';
  if (!policies.items.some((p) => p.name === policyName)) {
    await api(admin, 'POST', '/api/v1/policies', { name: policyName, minRiskLevel: 'high', nodeLabels: { env: 'prod' }, approverRole: 'operator' });
  }

  // Agent: inventory, task, run.
  await api(agent, 'POST', '/api/v1/hosts', { name: 'pedro', type: 'k8s-node', cluster: 'k8s-prod', addresses: { lan: '192.168.50.20' }, labels: { env: 'prod' } });
  const plex = await api<{ id: number }>(agent, 'POST', '/api/v1/workloads', { kind: 'deployment', name: 'media/plex', node: 'pedro', status: 'running', spec: { image: 'plexinc/pms-docker', replicas: 1 } });
  const task = await api<{ id: number }>(agent, 'POST', '/api/v1/tasks', { title: 'Restart Plex', prompt: 'Restart Plex and verify health', node: 'pedro', workloadId: plex.id });
  const run = await api<{ id: number }>(agent, 'POST', `/api/v1/tasks/${task.id}/runs`, { agent: 'example-agent/1.0' });
  const r = `/api/v1/runs/${run.id}`;
  await api(agent, 'POST', `${r}/transitions`, { to: 'running' });
  await api(agent, 'POST', `${r}/events`, { items: [{ kind: 'message', message: 'Plan: check the pod, restart the deployment, verify /identity answers 200' }] });

  // LLM call 1: planning.
  await api(agent, 'POST', `${r}/llm-calls`, {
    items: [{ provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', request: { purpose: 'plan' }, response: { finishReason: 'tool_use', latencyMs: 2300 }, usage: { inputTokens: 4200, cachedInputTokens: 3000, outputTokens: 350 } }],
  });
  // Tool call 1: read the pod (ran at once, no approval needed).
  await api(agent, 'POST', `${r}/tool-calls`, { tool: 'kubectl-get', arguments: { resource: 'pods', namespace: 'media' }, result: { outcome: 'success', durationMs: 640, outputSizeBytes: 2048 } });
  // LLM call 2: decide.
  await api(agent, 'POST', `${r}/llm-calls`, {
    items: [{ provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', request: { purpose: 'decide' }, response: { finishReason: 'tool_use', latencyMs: 1800 }, usage: { inputTokens: 6100, cachedInputTokens: 4200, outputTokens: 220 } }],
  });
  // Tool call 2: the restart is held by the policy (202) and the run waits.
  const held = await api<{ id: number; approval: string; approverRole: string }>(agent, 'POST', `${r}/tool-calls`, { tool: 'restart-workload', arguments: { workload: 'plex', namespace: 'media' } }, [202]);
  const waiting = await api<{ status: string }>(agent, 'GET', r);
  console.log(`restart held for approval by ${held.approverRole}; run ${run.id} is ${waiting.status}`);
  // The operator approves; the agent runs the tool and reports its result.
  await api(operator, 'POST', `/api/v1/tool-calls/${held.id}/approve`, { reason: 'Plex is idle; approved for the maintenance window' });
  await api(agent, 'POST', `/api/v1/tool-calls/${held.id}/result`, { outcome: 'success', durationMs: 31_000, outputSizeBytes: 96 });
  // Tool call 3: verify health.
  await api(agent, 'POST', `${r}/tool-calls`, { tool: 'http-check', arguments: { url: 'http://192.168.50.20:32400/identity', expectStatus: 200 }, result: { outcome: 'success', durationMs: 120, outputSizeBytes: 310 } });
  // The report, as an artifact.
  const report = `Restarted media/plex on pedro at ${new Date().toISOString()}; /identity answers 200.\n`;
  await api(agent, 'POST', `${r}/artifacts`, { name: 'report.txt', mediaType: 'text/plain', contentBase64: Buffer.from(report).toString('base64') });
  const finished = await api<{ status: string; startedAt: string; succeededAt: string }>(agent, 'POST', `${r}/transitions`, { to: 'succeeded' });

  // What the ledger knows now (a viewer could read all of it).
  const costs = await api<{ items: { key: string; cost: number; requests: number }[] }>(admin, 'GET', `/api/v1/usage/costs?groupBy=model&runId=${run.id}`);
  const calls = await api<{ items: { tool: string; approval: string; outcome: string; decidedBy: string | null }[] }>(admin, 'GET', `/api/v1/tool-calls?runId=${run.id}`);
  const events = await api<{ items: unknown[] }>(admin, 'GET', `${r}/events?limit=1000`);
  console.log(`run ${run.id}: ${finished.status} (started ${finished.startedAt}, succeeded ${finished.succeededAt})`);
  for (const c of costs.items) console.log(`  ${c.key}: ${c.requests} calls, $${c.cost.toFixed(6)}`);
  for (const c of [...calls.items].reverse()) console.log(`  tool ${c.tool}: ${c.outcome}${c.approval === 'approved' ? ` (approved by ${c.decidedBy})` : ''}`);
  console.log(
    JSON.stringify({
      runId: run.id,
      status: finished.status,
      events: events.items.length,
      llmCalls: costs.items.reduce((s, c) => s + c.requests, 0),
      cost: costs.items.reduce((s, c) => s + c.cost, 0),
      toolCalls: calls.items.length,
      approvedBy: calls.items.find((c) => c.approval === 'approved')?.decidedBy ?? null,
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof ApiError ? `agent-session: ${err.message}` : err);
  process.exit(1);
});
