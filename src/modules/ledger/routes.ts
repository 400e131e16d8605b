/**
 * The agent operations ledger over HTTP (docs/agent-ledger.md). Reading:
 * viewer / `read`; agents write with an `ingest` API key (or an operator);
 * tools, policies and prices: admin; approvals: a user with the role the
 * matching policy names (checked by the service); the audit trail: admin.
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { App, AppDeps, RouteModule } from '../../http/app.ts';
import { pageOf, pageQuery } from '../../http/pagination.ts';
import { idParams, nodeIdParam } from '../../http/params.ts';
import { problemSchema } from '../../http/problem.ts';
import { systemClock, type Clock } from '../../domain/clock.ts';
import { ROLES } from '../../domain/access.ts';
import { listAudit, type Actor } from './audit.ts';
import { listHosts, listServices, listWorkloads, createService, getWorkload, registerHost, registerWorkload, updateService, updateWorkload } from './inventory.ts';
import {
  activeRuns,
  addArtifact,
  appendEvents,
  artifactContent,
  createRun,
  createTask,
  DEFAULT_MAX_ARTIFACT_BYTES,
  eventsAfter,
  getRun,
  getTask,
  listArtifacts,
  listRuns,
  listTasks,
  MAX_EVENTS_PER_REQUEST,
  runNotFound,
  runProgress,
  transitionRun,
} from './runs.ts';
import { ACTOR_KINDS, APPROVAL_STATES, EVENT_KINDS, FINISHED_STATUSES, PRICE_SOURCES, RISK_LEVELS, RUN_STATUSES, TASK_KINDS, TOOL_OUTCOMES, WORKLOAD_KINDS, WORKLOAD_STATUSES } from './schema.ts';
import { decideCall, deletePolicy, getCall, getTool, listCalls, listPolicies, listTools, putTool, recordCall, recordResult, savePolicy, toolSuccessRates } from './tools.ts';
import { addPrice, COST_GROUPS, costBy, listPrices, MAX_LLM_CALLS_PER_REQUEST, recentUsage, recordLlmCalls, resolvePrice } from './usage.ts';

export interface LedgerOptions {
  clock?: Clock;
  maxArtifactBytes?: number;
  /** How often a live event stream looks for new events (ms). */
  streamPollMs?: number;
  /** A comment line keeps idle streams open through proxies (ms). */
  streamHeartbeatMs?: number;
}

const READ = { role: 'viewer', scope: 'read' } as const;
const INGEST = { role: 'operator', scope: 'ingest' } as const;
const ADMIN = { role: 'admin', scope: 'admin' } as const;

const actorOf = (req: { principal: Actor['principal']; ip: string; id: string }): Actor => ({ principal: req.principal, ip: req.ip, requestId: req.id });

const label = z.string().min(1).max(128);
const labels = z
  .record(label, z.string().max(255))
  .refine((m) => Object.keys(m).length <= 64, 'at most 64 labels')
  .describe('String map: at most 64 keys of 1-128 characters, values up to 255');
const jsonObject = z.record(z.string(), z.unknown());
const dateTime = z.iso.datetime({ offset: true });
const bigId = z.object({ id: z.string().regex(/^[1-9][0-9]{0,15}$/, 'must be a positive decimal integer').transform(Number) });
const tokenCount = z.number().int().min(0).max(1e12);
const pricePerM = z.number().min(0).max(1e6);
const nodeRef = nodeIdParam.describe('A node id (a host name as registered)');
const created = (s: z.ZodType) => ({ 201: s, 400: problemSchema, 404: problemSchema, 409: problemSchema });

const host = z.object({
  name: z.string(),
  hostname: z.string().nullable(),
  type: z.string().nullable(),
  cluster: z.string().nullable(),
  status: z.string(),
  addresses: jsonObject,
  labels: jsonObject,
  registeredAt: z.string(),
  lastSeen: z.string().nullable(),
});
const service = z.object({ id: z.number().int(), name: z.string(), description: z.string().nullable(), labels: z.record(z.string(), z.string()), workloads: z.number().int(), createdAt: z.string(), updatedAt: z.string() });
const workload = z.object({
  id: z.number().int(),
  kind: z.enum(WORKLOAD_KINDS),
  name: z.string(),
  node: z.string().nullable(),
  serviceId: z.number().int().nullable(),
  status: z.enum(WORKLOAD_STATUSES),
  spec: jsonObject,
  labels: z.record(z.string(), z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const task = z.object({
  id: z.number().int(),
  title: z.string(),
  description: z.string().nullable(),
  kind: z.enum(TASK_KINDS),
  prompt: z.string().nullable(),
  node: z.string().nullable(),
  workloadId: z.number().int().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
});
const ts = z.string().nullable();
const run = z.object({
  id: z.number().int(),
  taskId: z.number().int(),
  status: z.enum(RUN_STATUSES),
  userPrompt: z.string(),
  agent: z.string(),
  node: z.string().nullable(),
  workloadId: z.number().int().nullable(),
  createdBy: z.string(),
  queuedAt: z.string(),
  startedAt: ts,
  approvalRequestedAt: ts,
  approvalDecidedAt: ts,
  succeededAt: ts,
  failedAt: ts,
  cancelledAt: ts,
  error: z.string().nullable(),
  lastEventSeq: z.number().int(),
});
const activeRun = z.object({
  id: z.number().int(),
  taskId: z.number().int(),
  taskTitle: z.string(),
  status: z.enum(RUN_STATUSES),
  agent: z.string(),
  node: z.string().nullable(),
  workloadId: z.number().int().nullable(),
  userPrompt: z.string(),
  queuedAt: z.string(),
  startedAt: ts,
  approvalRequestedAt: ts,
  lastEventSeq: z.number().int(),
});
const event = z.object({ seq: z.number().int(), id: z.number().int(), kind: z.enum(EVENT_KINDS), message: z.string().nullable(), data: jsonObject, at: z.string() });
const artifact = z.object({ id: z.number().int(), runId: z.number().int(), name: z.string(), mediaType: z.string(), sizeBytes: z.number().int(), sha256: z.string(), createdAt: z.string() });
const price = z.object({
  id: z.number().int(),
  provider: z.string(),
  modelPattern: z.string(),
  inputPerMTok: z.number(),
  cachedInputPerMTok: z.number().nullable(),
  outputPerMTok: z.number(),
  currency: z.string(),
  validFrom: z.string(),
  validTo: z.string().nullable(),
  source: z.string().nullable(),
});
const usage = z.object({
  llmRequestId: z.number().int(),
  eventSeq: z.number().int(),
  provider: z.string(),
  model: z.string(),
  inputTokens: z.number().int(),
  cachedInputTokens: z.number().int(),
  outputTokens: z.number().int(),
  reasoningTokens: z.number().int().nullable(),
  priceSource: z.enum(PRICE_SOURCES).describe('table: the price table entry pricingId; client: the price sent with the call; none: no price known (cost null)'),
  pricingId: z.number().int().nullable(),
  inputPerMTok: z.number().nullable(),
  cachedInputPerMTok: z.number().nullable(),
  outputPerMTok: z.number().nullable(),
  cost: z.number().nullable(),
  currency: z.string(),
  occurredAt: z.string(),
});
const tool = z.object({ id: z.number().int(), name: z.string(), description: z.string(), argsSchema: jsonObject, riskLevel: z.enum(RISK_LEVELS), createdAt: z.string(), updatedAt: z.string() });
const policy = z.object({
  id: z.number().int(),
  name: z.string(),
  description: z.string().nullable(),
  toolName: z.string().nullable(),
  minRiskLevel: z.enum(RISK_LEVELS).nullable(),
  nodeLabels: z.record(z.string(), z.string()),
  workloadLabels: z.record(z.string(), z.string()),
  approverRole: z.enum(ROLES),
  enabled: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const toolCall = z.object({
  id: z.number().int(),
  runId: z.number().int(),
  eventSeq: z.number().int(),
  tool: z.string(),
  arguments: z.unknown(),
  argsValid: z.boolean(),
  validationErrors: z.array(z.object({ path: z.string(), message: z.string() })).nullable(),
  approval: z.enum(APPROVAL_STATES),
  policyId: z.number().int().nullable(),
  approverRole: z.enum(ROLES).nullable(),
  decidedBy: z.string().nullable(),
  decisionReason: z.string().nullable(),
  decidedAt: ts,
  outcome: z.enum(TOOL_OUTCOMES).nullable(),
  durationMs: z.number().int().nullable(),
  outputSizeBytes: z.number().int().nullable(),
  requestedAt: z.string(),
  finishedAt: ts,
});
const toolResult = z.strictObject({
  outcome: z.enum(['success', 'error', 'timeout']),
  durationMs: z.number().int().min(0).max(2_147_483_647).optional(),
  outputSizeBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  output: z.unknown().optional().describe('A summary of the output (JSON); keep it small'),
});
const auditEntry = z.object({
  id: z.number().int(),
  at: z.string(),
  actorKind: z.enum(ACTOR_KINDS),
  actorId: z.string().nullable(),
  actorName: z.string().nullable(),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string().nullable(),
  ip: z.string().nullable(),
  requestId: z.string().nullable(),
  summary: jsonObject,
});
const costRow = z.object({
  key: z.string(),
  requests: z.number().int(),
  inputTokens: z.number(),
  cachedInputTokens: z.number(),
  outputTokens: z.number(),
  reasoningTokens: z.number(),
  cost: z.number(),
  unpricedRequests: z.number().int(),
});

/** Standard base64 with padding, checked without a backtracking group (a 5 MB string overflowed the regex engine's stack). */
const isBase64 = (s: string) => s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);

export function ledgerRoutes(options: LedgerOptions = {}): RouteModule {
  const clock = options.clock ?? systemClock;
  const maxArtifactBytes = options.maxArtifactBytes ?? DEFAULT_MAX_ARTIFACT_BYTES;
  const pollMs = options.streamPollMs ?? 500;
  const heartbeatMs = options.streamHeartbeatMs ?? 15_000;
  return (app: App, deps: AppDeps) => {
    // Every mutating route here writes its own audit entry (recordAudit, with a precise action and target).
    app.addHook('onRoute', (route) => {
      route.config = { ...(route.config ?? {}), audit: route.config?.audit ?? 'self' };
    });
    const db = deps.db;
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
    });

    // ---------------------------------------------------------------- inventory
    app.post(
      '/api/v1/hosts',
      {
        config: { access: INGEST },
        schema: {
          tags: ['ledger'],
          summary: 'Register or update a host (a node of the inventory)',
          description: 'A host is a node: `name` is the node id; `type` and `cluster` are kept as the node labels `type` and `cluster`; labels and addresses are merged key by key.',
          body: z.strictObject({
            name: nodeRef,
            hostname: z.string().min(1).max(253).optional(),
            type: z.string().min(1).max(64).optional().describe('e.g. k8s-node, proxmox, vm, lxc, bare-metal'),
            cluster: z.string().min(1).max(128).optional(),
            addresses: z.record(label, z.string().max(255)).optional().describe('e.g. {"lan": "192.168.50.20"}'),
            labels: labels.optional(),
          }),
          response: { 200: host },
        },
      },
      async (req) => registerHost(db, actorOf(req), req.body),
    );
    app.get(
      '/api/v1/hosts',
      {
        config: { access: READ },
        schema: { tags: ['ledger'], summary: 'Hosts (nodes) with their type and cluster', querystring: pageQuery.extend({ type: z.string().max(64).optional(), cluster: z.string().max(128).optional() }), response: { 200: pageOf(host) } },
      },
      async (req) => listHosts(db, req.query),
    );

    const serviceBody = z.strictObject({ name: z.string().trim().min(1).max(128), description: z.string().max(2000).optional(), labels: labels.optional() });
    app.post(
      '/api/v1/services',
      { config: { access: INGEST }, schema: { tags: ['ledger'], summary: 'Create a service (a logical grouping of workloads)', description: 'Names are unique (409 SERVICE_NAME_TAKEN).', body: serviceBody, response: created(service) } },
      async (req, reply) => reply.code(201).send(await createService(db, actorOf(req), req.body)),
    );
    app.get(
      '/api/v1/services',
      { config: { access: READ }, schema: { tags: ['ledger'], summary: 'Services', querystring: pageQuery.extend({ name: z.string().max(128).optional().describe('Part of the name') }), response: { 200: pageOf(service) } } },
      async (req) => listServices(db, req.query),
    );
    app.patch(
      '/api/v1/services/:id',
      {
        config: { access: INGEST },
        schema: {
          tags: ['ledger'],
          summary: 'Update a service',
          params: idParams,
          body: z.strictObject({ name: z.string().trim().min(1).max(128).optional(), description: z.string().max(2000).nullable().optional(), labels: labels.optional() }),
          response: { 200: service, 404: problemSchema, 409: problemSchema },
        },
      },
      async (req) => updateService(db, actorOf(req), req.params.id, req.body),
    );

    const workloadRefs = { node: nodeRef.nullable().optional(), serviceId: z.number().int().min(1).max(2_147_483_647).nullable().optional() };
    app.post(
      '/api/v1/workloads',
      {
        config: { access: INGEST },
        schema: {
          tags: ['ledger'],
          summary: 'Register a workload (the same kind and name again updates it)',
          description: 'An unknown node or service is 400 naming the field. 201 when created, 200 when updated.',
          body: z.strictObject({
            kind: z.enum(WORKLOAD_KINDS),
            name: z.string().min(1).max(253),
            ...workloadRefs,
            status: z.enum(WORKLOAD_STATUSES).optional(),
            spec: jsonObject.optional().describe('Free-form JSON (image, replicas, resources, …)'),
            labels: labels.optional(),
          }),
          response: { 200: workload, 201: workload, 400: problemSchema },
        },
      },
      async (req, reply) => {
        const r = await registerWorkload(db, actorOf(req), req.body);
        return reply.code(r.created ? 201 : 200).send(r.workload);
      },
    );
    app.get(
      '/api/v1/workloads',
      {
        config: { access: READ },
        schema: {
          tags: ['ledger'],
          summary: 'Workloads',
          querystring: pageQuery.extend({ kind: z.enum(WORKLOAD_KINDS).optional(), node: nodeRef.optional(), serviceId: z.coerce.number().int().min(1).max(2_147_483_647).optional(), status: z.enum(WORKLOAD_STATUSES).optional() }),
          response: { 200: pageOf(workload) },
        },
      },
      async (req) => listWorkloads(db, req.query),
    );
    app.get(
      '/api/v1/workloads/:id',
      { config: { access: READ }, schema: { tags: ['ledger'], summary: 'One workload', params: idParams, response: { 200: workload, 404: problemSchema } } },
      async (req) => getWorkload(db, req.params.id),
    );
    app.patch(
      '/api/v1/workloads/:id',
      {
        config: { access: INGEST },
        schema: {
          tags: ['ledger'],
          summary: 'Update a workload',
          params: idParams,
          body: z.strictObject({ ...workloadRefs, status: z.enum(WORKLOAD_STATUSES).optional(), spec: jsonObject.optional(), labels: labels.optional() }),
          response: { 200: workload, 400: problemSchema, 404: problemSchema },
        },
      },
      async (req) => updateWorkload(db, actorOf(req), req.params.id, req.body),
    );

    // ---------------------------------------------------------------- tasks and runs
    app.post(
      '/api/v1/tasks',
      {
        config: { access: INGEST },
        schema: {
          tags: ['ledger'],
          summary: 'Define a task (a template or a one-off)',
          body: z.strictObject({
            title: z.string().trim().min(1).max(200),
            description: z.string().max(10_000).optional(),
            kind: z.enum(TASK_KINDS).optional(),
            prompt: z.string().min(1).max(100_000).optional().describe('The default user prompt of its runs'),
            node: nodeRef.optional(),
            workloadId: z.number().int().min(1).max(2_147_483_647).optional(),
          }),
          response: created(task),
        },
      },
      async (req, reply) => reply.code(201).send(await createTask(db, actorOf(req), req.body)),
    );
    app.get(
      '/api/v1/tasks',
      { config: { access: READ }, schema: { tags: ['ledger'], summary: 'Tasks, newest first', querystring: pageQuery.extend({ kind: z.enum(TASK_KINDS).optional() }), response: { 200: pageOf(task) } } },
      async (req) => listTasks(db, req.query),
    );
    app.get(
      '/api/v1/tasks/:id',
      { config: { access: READ }, schema: { tags: ['ledger'], summary: 'One task', params: idParams, response: { 200: task, 404: problemSchema } } },
      async (req) => getTask(db, req.params.id),
    );
    app.post(
      '/api/v1/tasks/:id/runs',
      {
        config: { access: INGEST },
        schema: {
          tags: ['ledger'],
          summary: 'Queue a run of a task',
          description: 'The run starts `queued`; its target (node, workload) and prompt default to the task’s.',
          params: idParams,
          body: z.strictObject({
            agent: z.string().trim().min(1).max(128).describe('The agent that runs it (name/version)'),
            userPrompt: z.string().min(1).max(100_000).optional(),
            node: nodeRef.optional(),
            workloadId: z.number().int().min(1).max(2_147_483_647).optional(),
          }),
          response: created(run),
        },
      },
      async (req, reply) => reply.code(201).send(await createRun(db, actorOf(req), req.params.id, req.body)),
    );
    app.get(
      '/api/v1/runs',
      {
        config: { access: READ },
        schema: {
          tags: ['ledger'],
          summary: 'Runs, newest first',
          querystring: pageQuery.extend({ status: z.enum(RUN_STATUSES).optional(), agent: z.string().max(128).optional(), node: nodeRef.optional(), taskId: z.coerce.number().int().min(1).max(2_147_483_647).optional() }),
          response: { 200: pageOf(run) },
        },
      },
      async (req) => listRuns(db, req.query),
    );
    app.get(
      '/api/v1/runs/active',
      { config: { access: READ }, schema: { tags: ['ledger'], summary: 'Runs not finished (the view active_task_runs)', response: { 200: z.object({ items: z.array(activeRun) }) } } },
      async () => ({ items: await activeRuns(db) }),
    );
    app.get(
      '/api/v1/runs/:id',
      { config: { access: READ }, schema: { tags: ['ledger'], summary: 'One run with the time of each transition', params: bigId, response: { 200: run, 404: problemSchema } } },
      async (req) => getRun(db, req.params.id),
    );
    app.post(
      '/api/v1/runs/:id/transitions',
      {
        config: { access: INGEST },
        schema: {
          tags: ['ledger'],
          summary: 'Move a run: start, succeed, fail or cancel it',
          description:
            'queued → running | cancelled; running → succeeded | failed | cancelled; awaiting_approval → cancelled (running and failed come from the approval decision). A finished run is 409 RUN_FINISHED; a run waiting for an approval 409 RUN_AWAITING_APPROVAL; any other step not allowed (queued → succeeded skips running) 409 RUN_TRANSITION_INVALID naming `from`, `to` and `allowed`.',
          params: bigId,
          body: z.strictObject({ to: z.enum(['running', 'succeeded', 'failed', 'cancelled']), error: z.string().max(10_000).optional().describe('Why it failed (to = failed)') }),
          response: { 200: run, 404: problemSchema, 409: problemSchema },
        },
      },
      async (req) => transitionRun(db, actorOf(req), req.params.id, req.body.to, req.body.error),
    );

    // ---------------------------------------------------------------- events
    app.post(
      '/api/v1/runs/:id/events',
      {
        config: { access: INGEST },
        schema: {
          tags: ['ledger'],
          summary: 'Append events to a run’s log',
          description: `Messages, log lines and errors, 1-${MAX_EVENTS_PER_REQUEST} per request, all or none; numbered in order (seq). State changes, tool calls and LLM calls are logged by their own endpoints. A finished run’s log is closed (409 RUN_FINISHED).`,
          params: bigId,
          body: z.strictObject({
            items: z
              .array(z.strictObject({ kind: z.enum(['message', 'log', 'error']), message: z.string().max(100_000).optional(), data: jsonObject.optional() }))
              .min(1)
              .max(MAX_EVENTS_PER_REQUEST),
          }),
          response: { 201: z.object({ runId: z.number().int(), firstSeq: z.number().int(), lastSeq: z.number().int() }), 404: problemSchema, 409: problemSchema },
        },
      },
      async (req, reply) => reply.code(201).send(await appendEvents(db, actorOf(req), req.params.id, req.body.items)),
    );
    app.get(
      '/api/v1/runs/:id/events',
      {
        config: { access: READ },
        schema: {
          tags: ['ledger'],
          summary: 'A run’s events after a position',
          params: bigId,
          querystring: z.object({ after: z.coerce.number().int().min(0).default(0).describe('Events with seq greater than this'), limit: z.coerce.number().int().min(1).max(1000).default(200) }),
          response: { 200: z.object({ items: z.array(event) }), 404: problemSchema },
        },
      },
      async (req) => {
        if (!(await runProgress(db, req.params.id))) throw runNotFound(req.params.id);
        return { items: await eventsAfter(db, req.params.id, req.query.after, req.query.limit) };
      },
    );
    app.get(
      '/api/v1/runs/:id/events/stream',
      {
        config: { access: READ },
        schema: {
          tags: ['ledger'],
          summary: 'A run’s events as server-sent events, live until it finishes',
          description:
            'text/event-stream: each event is `id: <seq>`, `event: <kind>`, `data: <event JSON>`. Resume with the `Last-Event-ID` header (or `?after=`): events after that seq follow. The stream ends after the last event of a finished run. New events are found by polling the database, so any Opsdeck process sharing it serves the stream.',
          params: bigId,
          querystring: z.object({ after: z.coerce.number().int().min(0).optional() }),
          headers: z.object({ 'last-event-id': z.string().regex(/^[0-9]{1,10}$/, 'an event seq').optional() }),
          response: { 200: z.string().describe('text/event-stream'), 404: problemSchema },
        },
      },
      async (req, reply) => {
        const runId = req.params.id;
        const lastId = req.headers['last-event-id'];
        let after = lastId !== undefined ? Number(lastId) : (req.query.after ?? 0);
        if (!(await runProgress(db, runId))) throw runNotFound(runId);
        let gone = false;
        req.raw.once('close', () => {
          gone = true;
        });
        async function* frames(): AsyncGenerator<string> {
          yield `retry: ${Math.max(1000, pollMs)}\n\n`;
          let idle = 0;
          while (!gone && !closing) {
            // Status first, events second: a run seen finished has all its events committed.
            const progress = await runProgress(db, runId);
            const batch = await eventsAfter(db, runId, after, 500);
            for (const e of batch) {
              after = e.seq;
              yield `id: ${e.seq}\nevent: ${e.kind}\ndata: ${JSON.stringify(e)}\n\n`;
            }
            if (batch.length === 500) continue;
            if (!progress || (FINISHED_STATUSES.includes(progress.status) && after >= progress.lastSeq)) return;
            if (batch.length > 0) idle = 0;
            await sleep(pollMs);
            idle += pollMs;
            if (idle >= heartbeatMs) {
              idle = 0;
              yield ': keep-alive\n\n';
            }
          }
        }
        // A stream ended by the shutdown: its keep-alive connection would hold the server's
        // close until the keep-alive timeout (the server closed idle connections before this
        // one became idle), so it is closed once the answer is complete.
        const socket = req.raw.socket;
        reply.raw.once('finish', () => {
          if (closing) socket.end();
        });
        reply.header('content-type', 'text/event-stream; charset=utf-8').header('cache-control', 'no-store').header('x-accel-buffering', 'no');
        return reply.send(Readable.from(frames(), { objectMode: false }) as never);
      },
    );

    // ---------------------------------------------------------------- artifacts
    app.post(
      '/api/v1/runs/:id/artifacts',
      {
        config: { access: INGEST },
        schema: {
          tags: ['ledger'],
          summary: 'Attach an artifact (an output) to a run',
          description: `The content travels base64-encoded and is kept in the database with its size and SHA-256; at most ${maxArtifactBytes} decoded bytes (413 ARTIFACT_TOO_LARGE). The name is a label, never a file path.`,
          params: bigId,
          body: z.strictObject({
            name: z.string().min(1).max(255),
            mediaType: z
              .string()
              .max(255)
              .regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/, 'a media type such as text/plain')
              .default('application/octet-stream'),
            contentBase64: z.string().refine(isBase64, 'standard base64 with padding'),
          }),
          response: { 201: artifact, 404: problemSchema, 413: problemSchema },
        },
      },
      async (req, reply) =>
        reply.code(201).send(await addArtifact(db, actorOf(req), req.params.id, { name: req.body.name, mediaType: req.body.mediaType, content: Buffer.from(req.body.contentBase64, 'base64') }, maxArtifactBytes)),
    );
    app.get(
      '/api/v1/runs/:id/artifacts',
      { config: { access: READ }, schema: { tags: ['ledger'], summary: 'A run’s artifacts', params: bigId, response: { 200: z.object({ items: z.array(artifact) }), 404: problemSchema } } },
      async (req) => ({ items: await listArtifacts(db, req.params.id) }),
    );
    app.get(
      '/api/v1/artifacts/:id/content',
      {
        config: { access: READ },
        schema: { tags: ['ledger'], summary: 'An artifact’s content (as an attachment)', params: bigId, response: { 200: z.any().describe('The bytes, with the artifact’s media type'), 404: problemSchema } },
      },
      async (req, reply) => {
        const { artifact: a, content } = await artifactContent(db, req.params.id);
        return reply
          .type(a.mediaType)
          .header('content-disposition', `attachment; filename="artifact-${a.id}"`)
          .header('x-content-sha256', a.sha256)
          .send(content);
      },
    );

    // ---------------------------------------------------------------- LLM usage and prices
    const llmCall = z.strictObject({
      provider: z.string().trim().toLowerCase().min(1).max(64),
      model: z.string().min(1).max(200),
      request: jsonObject.optional().describe('Parameters and a summary of the prompt; no secrets'),
      response: z
        .strictObject({
          status: z.enum(['ok', 'error']).optional(),
          finishReason: z.string().max(64).optional(),
          latencyMs: z.number().int().min(0).max(2_147_483_647).optional(),
          body: jsonObject.optional(),
          error: z.string().max(10_000).optional(),
        })
        .optional(),
      usage: z.strictObject({
        inputTokens: tokenCount.describe('All prompt tokens, cached ones included'),
        outputTokens: tokenCount.describe('All completion tokens, reasoning tokens included'),
        cachedInputTokens: tokenCount.optional().describe('Of inputTokens, those read from the provider’s cache'),
        reasoningTokens: tokenCount.optional().describe('Of outputTokens, reasoning tokens (informational)'),
      }),
      price: z
        .strictObject({ inputPerMTok: pricePerM, cachedInputPerMTok: pricePerM.optional(), outputPerMTok: pricePerM, currency: z.string().regex(/^[A-Z]{3}$/).optional() })
        .optional()
        .describe('A price per 1M tokens that overrides the price table for this call (recorded as priceSource = client)'),
      occurredAt: dateTime.optional().describe('When the call was made (chooses the price version); default now'),
      eventSeq: z.number().int().min(1).optional().describe('The run’s event that caused the call; default: a new llm_call event'),
    });
    app.post(
      '/api/v1/runs/:id/llm-calls',
      {
        config: { access: INGEST },
        schema: {
          tags: ['ledger'],
          summary: 'Record LLM calls of a run with their token usage; the cost is computed now',
          description: `1-${MAX_LLM_CALLS_PER_REQUEST} calls, all or none. Negative token counts are 400; cachedInputTokens above inputTokens is 400. The cost is fixed when written (see docs/agent-ledger.md, "Cost").`,
          params: bigId,
          body: z.strictObject({ items: z.array(llmCall).min(1).max(MAX_LLM_CALLS_PER_REQUEST) }),
          response: { 201: z.object({ items: z.array(usage) }), 404: problemSchema, 409: problemSchema },
        },
      },
      async (req, reply) =>
        reply.code(201).send({
          items: await recordLlmCalls(
            db,
            clock,
            actorOf(req),
            req.params.id,
            req.body.items.map((c) => ({ ...c, occurredAt: c.occurredAt ? new Date(c.occurredAt) : undefined })),
          ),
        }),
    );
    app.get(
      '/api/v1/usage/costs',
      {
        config: { access: READ },
        schema: {
          tags: ['ledger'],
          summary: 'LLM usage and cost grouped by provider, model, agent, task, host or day',
          querystring: z.object({
            groupBy: z.enum(COST_GROUPS).default('model'),
            from: dateTime.optional(),
            to: dateTime.optional(),
            provider: z.string().max(64).optional(),
            model: z.string().max(200).optional(),
            agent: z.string().max(128).optional(),
            runId: z.coerce.number().int().min(1).optional(),
          }),
          response: { 200: z.object({ groupBy: z.enum(COST_GROUPS), items: z.array(costRow) }) },
        },
      },
      async (req) => ({
        groupBy: req.query.groupBy,
        items: await costBy(db, { ...req.query, from: req.query.from ? new Date(req.query.from) : undefined, to: req.query.to ? new Date(req.query.to) : undefined }),
      }),
    );
    app.get(
      '/api/v1/usage/recent',
      {
        config: { access: READ },
        schema: {
          tags: ['ledger'],
          summary: 'Token usage by provider and model over the last 30 days (the view recent_token_usage_summary)',
          response: {
            200: z.object({
              items: z.array(
                z.object({
                  provider: z.string(),
                  model: z.string(),
                  requests: z.number().int(),
                  inputTokens: z.number(),
                  cachedInputTokens: z.number(),
                  outputTokens: z.number(),
                  reasoningTokens: z.number().nullable(),
                  cost: z.number().nullable(),
                  unpricedRequests: z.number().int(),
                }),
              ),
            }),
          },
        },
      },
      async () => ({ items: await recentUsage(db) }),
    );
    app.get(
      '/api/v1/pricing',
      {
        config: { access: READ },
        schema: { tags: ['ledger'], summary: 'The price table (every version)', querystring: z.object({ provider: z.string().max(64).optional(), at: dateTime.optional().describe('Only the versions valid at this time') }), response: { 200: z.object({ items: z.array(price) }) } },
      },
      async (req) => ({ items: await listPrices(db, { provider: req.query.provider, at: req.query.at ? new Date(req.query.at) : undefined }) }),
    );
    app.get(
      '/api/v1/pricing/resolve',
      {
        config: { access: READ },
        schema: {
          tags: ['ledger'],
          summary: 'The price entry that applies to a model at a time',
          querystring: z.object({ provider: z.string().trim().toLowerCase().min(1).max(64), model: z.string().min(1).max(200), at: dateTime.optional() }),
          response: { 200: z.object({ price: price.nullable() }) },
        },
      },
      async (req) => ({ price: await resolvePrice(db, req.query.provider, req.query.model, req.query.at ? new Date(req.query.at) : clock.now()) }),
    );
    app.post(
      '/api/v1/pricing',
      {
        config: { access: ADMIN },
        schema: {
          tags: ['ledger'],
          summary: 'Add a price version',
          description:
            'Prices per 1M tokens. A new open-ended version (no validTo) ends the open-ended version of the same provider and pattern that started earlier, where it starts; any other overlap is 409 PRICE_PERIOD_OVERLAP; validTo not after validFrom is 400 naming validTo. Usage already written keeps its cost.',
          body: z.strictObject({
            provider: z.string().trim().toLowerCase().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
            modelPattern: z.string().min(1).max(128).describe('A model name or its prefix: `gpt-4o` matches gpt-4o and gpt-4o-2024-08-06 (the longest matching pattern wins)'),
            inputPerMTok: pricePerM,
            cachedInputPerMTok: pricePerM.nullable().optional(),
            outputPerMTok: pricePerM,
            currency: z.string().regex(/^[A-Z]{3}$/).optional(),
            validFrom: dateTime,
            validTo: dateTime.nullable().optional(),
            source: z.string().max(500).optional(),
          }),
          response: { 201: price, 400: problemSchema, 409: problemSchema },
        },
      },
      async (req, reply) =>
        reply.code(201).send(await addPrice(db, actorOf(req), { ...req.body, validFrom: new Date(req.body.validFrom), validTo: req.body.validTo ? new Date(req.body.validTo) : null })),
    );

    // ---------------------------------------------------------------- tools, calls, policies
    const toolName = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'letters, digits and _ . : -, at most 128');
    app.put(
      '/api/v1/tools/:name',
      {
        config: { access: ADMIN },
        schema: {
          tags: ['ledger'],
          summary: 'Define or replace a tool',
          description: 'argsSchema must be a valid JSON Schema (400 ARGS_SCHEMA_INVALID naming argsSchema). 201 when created, 200 when replaced.',
          params: z.object({ name: toolName }),
          body: z.strictObject({ description: z.string().max(10_000).optional(), argsSchema: jsonObject, riskLevel: z.enum(RISK_LEVELS) }),
          response: { 200: tool, 201: tool, 400: problemSchema },
        },
      },
      async (req, reply) => {
        const r = await putTool(db, actorOf(req), { name: req.params.name, ...req.body });
        return reply.code(r.created ? 201 : 200).send(r.tool);
      },
    );
    app.get('/api/v1/tools', { config: { access: READ }, schema: { tags: ['ledger'], summary: 'Tool definitions', response: { 200: z.object({ items: z.array(tool) }) } } }, async () => ({ items: await listTools(db) }));
    app.get(
      '/api/v1/tools/success-rate',
      {
        config: { access: READ },
        schema: {
          tags: ['ledger'],
          summary: 'Success rate and average duration per tool (the view tool_call_success_rate)',
          description: 'Over the calls with an outcome: successes / calls (invalid and rejected calls count as not successful).',
          response: { 200: z.object({ items: z.array(z.object({ tool: z.string(), calls: z.number().int(), successes: z.number().int(), successRate: z.number(), avgDurationMs: z.number().nullable() })) }) },
        },
      },
      async () => ({ items: await toolSuccessRates(db) }),
    );
    app.get(
      '/api/v1/tools/:name',
      { config: { access: READ }, schema: { tags: ['ledger'], summary: 'One tool definition', params: z.object({ name: toolName }), response: { 200: tool, 404: problemSchema } } },
      async (req) => getTool(db, req.params.name),
    );
    app.post(
      '/api/v1/runs/:id/tool-calls',
      {
        config: { access: INGEST },
        schema: {
          tags: ['ledger'],
          summary: 'Record a tool call of a running run',
          description:
            'The arguments are validated against the tool’s schema: an invalid call is recorded with argsValid false and outcome invalid (201), not refused. A call a policy matches is recorded with approval pending and the run moves to awaiting_approval (202): run the tool only after the approval, then send its result to /api/v1/tool-calls/{id}/result. An unknown tool is 404 TOOL_NOT_FOUND naming it.',
          params: bigId,
          body: z.strictObject({ tool: toolName, arguments: z.unknown().describe('The arguments (JSON)'), result: toolResult.optional().describe('The result, when the call ran already (no approval needed)') }),
          response: { 201: toolCall, 202: toolCall, 404: problemSchema, 409: problemSchema },
        },
      },
      async (req, reply) => {
        const c = await recordCall(db, actorOf(req), req.params.id, req.body);
        return reply.code(c.approval === 'pending' ? 202 : 201).send(c);
      },
    );
    app.get(
      '/api/v1/tool-calls',
      {
        config: { access: READ },
        schema: {
          tags: ['ledger'],
          summary: 'Tool calls, newest first',
          querystring: pageQuery.extend({ runId: z.coerce.number().int().min(1).optional(), tool: toolName.optional(), approval: z.enum(APPROVAL_STATES).optional() }),
          response: { 200: pageOf(toolCall) },
        },
      },
      async (req) => listCalls(db, req.query),
    );
    app.get(
      '/api/v1/tool-calls/:id',
      { config: { access: READ }, schema: { tags: ['ledger'], summary: 'One tool call', params: bigId, response: { 200: toolCall, 404: problemSchema } } },
      async (req) => getCall(db, req.params.id),
    );
    app.post(
      '/api/v1/tool-calls/:id/result',
      {
        config: { access: INGEST },
        schema: {
          tags: ['ledger'],
          summary: 'The result of a recorded tool call',
          description: 'Refused while the call waits for approval or after it was rejected (409 TOOL_CALL_NOT_APPROVED), and once it has an outcome (409 TOOL_CALL_FINISHED).',
          params: bigId,
          body: toolResult,
          response: { 200: toolCall, 404: problemSchema, 409: problemSchema },
        },
      },
      async (req) => recordResult(db, actorOf(req), req.params.id, req.body),
    );
    const decision = (d: 'approve' | 'reject') =>
      app.post(
        `/api/v1/tool-calls/:id/${d}`,
        {
          config: { access: { role: 'viewer', scope: 'admin' } },
          schema: {
            tags: ['ledger'],
            summary: d === 'approve' ? 'Approve a pending tool call (its run continues)' : 'Reject a pending tool call (its run fails)',
            description:
              'By a signed-in user whose role is at least the approver role of the policy that put the call on hold (403 APPROVAL_ROLE_REQUIRED); API keys are refused (403 APPROVAL_NEEDS_USER). A call not pending is 409 TOOL_CALL_NOT_PENDING.',
            params: bigId,
            body: z.strictObject({ reason: z.string().trim().min(1).max(2000) }),
            response: { 200: toolCall, 403: problemSchema, 404: problemSchema, 409: problemSchema },
          },
        },
        async (req) => decideCall(db, actorOf(req), req.params.id, d, req.body.reason),
      );
    decision('approve');
    decision('reject');

    const policyBody = z.strictObject({
      name: z.string().trim().min(1).max(128),
      description: z.string().max(2000).nullable().optional(),
      toolName: toolName.nullable().optional().describe('Only calls of this tool; omitted: any tool'),
      minRiskLevel: z.enum(RISK_LEVELS).nullable().optional().describe('Only tools of this risk level or higher'),
      nodeLabels: labels.optional().describe('Only runs on a node carrying all these labels'),
      workloadLabels: labels.optional().describe('Only runs on a workload carrying all these labels'),
      approverRole: z.enum(ROLES).default('operator').describe('The least role of the user who may approve'),
      enabled: z.boolean().optional(),
    });
    app.get('/api/v1/policies', { config: { access: READ }, schema: { tags: ['ledger'], summary: 'Approval policies', response: { 200: z.object({ items: z.array(policy) }) } } }, async () => ({
      items: await listPolicies(db),
    }));
    app.post(
      '/api/v1/policies',
      { config: { access: ADMIN }, schema: { tags: ['ledger'], summary: 'Add an approval policy', body: policyBody, response: { 201: policy, 409: problemSchema } } },
      async (req, reply) => reply.code(201).send(await savePolicy(db, actorOf(req), req.body)),
    );
    app.put(
      '/api/v1/policies/:id',
      { config: { access: ADMIN }, schema: { tags: ['ledger'], summary: 'Replace an approval policy', params: idParams, body: policyBody, response: { 200: policy, 404: problemSchema, 409: problemSchema } } },
      async (req) => savePolicy(db, actorOf(req), req.body, req.params.id),
    );
    app.delete(
      '/api/v1/policies/:id',
      { config: { access: ADMIN }, schema: { tags: ['ledger'], summary: 'Delete an approval policy', params: idParams, response: { 204: z.null().describe('No content'), 404: problemSchema } } },
      async (req, reply) => {
        await deletePolicy(db, actorOf(req), req.params.id);
        return reply.code(204).send(null);
      },
    );

    // ---------------------------------------------------------------- audit
    app.get(
      '/api/v1/audit',
      {
        config: { access: ADMIN },
        schema: {
          tags: ['ledger'],
          summary: 'The audit trail, newest first (keyset paging)',
          description: 'Pass the answer’s nextCursor as `before` for the next page; null on the last one.',
          querystring: z.object({
            actorKind: z.enum(ACTOR_KINDS).optional(),
            actor: z.string().max(128).optional().describe('Username or API key name'),
            action: z.string().max(128).optional(),
            targetType: z.string().max(64).optional(),
            targetId: z.string().max(128).optional(),
            from: dateTime.optional(),
            to: dateTime.optional(),
            before: z.coerce.number().int().min(1).optional(),
            limit: z.coerce.number().int().min(1).max(500).default(100),
          }),
          response: { 200: z.object({ items: z.array(auditEntry), nextCursor: z.number().int().nullable() }) },
        },
      },
      async (req) =>
        listAudit(db, {
          ...req.query,
          actorName: req.query.actor,
          from: req.query.from ? new Date(req.query.from) : undefined,
          to: req.query.to ? new Date(req.query.to) : undefined,
        }),
    );
  };
}
