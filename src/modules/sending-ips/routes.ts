/**
 * /api/v1/ips (§20 of the mail-cluster requirements): the sending-IP registry,
 * adding a range, bulk pause/resume, warm-up and the per-IP reputation overview;
 * /api/v1/warmup-plans: the warm-up plans. Reading needs the viewer role; changes
 * the operator role (API keys: the admin scope), as §19.3 gives operators the IPs.
 */
import { z } from 'zod';
import type { App, AppDeps } from '../../http/app.ts';
import { idParams } from '../../http/params.ts';
import { problemSchema } from '../../http/problem.ts';
import { NODE_ID_PATTERN } from '../../timeseries/family.ts';
import type { DnsblService } from '../dnsbl/service.ts';
import { MAX_IPV6_COUNT, parseCidr } from './addresses.ts';
import { POOL_NAME } from './pools.ts';
import { reputationOf } from './reputation.ts';
import { IP_STATUSES } from './schema.ts';
import { LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, type SendingIpService } from './service.ts';
import type { WarmupService } from './warmup.ts';
import type { Clock } from '../../domain/clock.ts';
import type { StreamStore } from '../../timeseries/stream-store.ts';

const READ = { role: 'viewer', scope: 'read' } as const;
const WRITE = { role: 'operator', scope: 'admin' } as const;

const ipString = z.union([z.ipv4(), z.ipv6()]).describe('An IPv4 or IPv6 address');
const ipParams = z.object({ ip: ipString });
const nodeId = z.string().min(1).max(128).regex(NODE_ID_PATTERN, 'a node id');
const cidrString = z.string().max(64).refine((s) => parseCidr(s) !== null, 'expected a CIDR range such as 192.0.2.0/24 or 2001:db8::/64');
const status = z.enum(IP_STATUSES);
const dateTime = z.string().nullable();

const sendingIp = z.object({
  ip: z.string(),
  ipVersion: z.number().int(),
  nodeId: z.string().nullable(),
  subnet: z.string().nullable(),
  ptrRecord: z.string().nullable(),
  ptrConfirmed: z.boolean().nullable().describe('Forward-confirmed reverse DNS: the PTR name resolves back to the IP; null before the first check'),
  ptrCheckedAt: dateTime,
  status,
  statusReason: z.string().nullable().describe('Why the status last changed (a user, an auto-response to a listing, a finished warm-up)'),
  statusChangedAt: dateTime,
  warmupPlanId: z.number().int().nullable(),
  warmupStart: z.string().nullable(),
  warmupDay: z.number().int(),
  dailyLimit: z.number().int().nullable().describe('Today\'s warm-up limit; null: no limit'),
  currentDailySent: z.number().int().describe('Delivery attempts today (UTC) from email_events, refreshed by the sending-ips-warmup job'),
  blacklistCount: z.number().int().describe('Enabled DNSBL zones the IP is currently listed on'),
  pool: z.string().nullable().describe('The IP pool it belongs to (/api/v1/ip-pools), or null'),
  poolRatio: z.number().nullable().describe('Its share of the pool\'s connections when set by hand (ZoneMTA\'s ratio, 0 < r ≤ 1); null: Opsdeck decides (docs/mail.md "IP pools")'),
  reputationScore: z.number().int().describe('0–100: computed every 5 minutes by the sending-ips-reputation job from the IP\'s 24-hour bounce and complaint rates, its DNSBL listings and its PTR; 50 until first scored'),
  lastBlacklistCheck: dateTime,
  notes: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const filterShape = {
  nodeId: nodeId.optional(),
  status: status.optional(),
  subnet: cidrString.optional().describe('Only IPs inside this range'),
  listed: z.enum(['true', 'false']).transform((v) => v === 'true').optional().describe('true: listed on at least one DNSBL; false: on none'),
  search: z.string().min(1).max(100).optional().describe('Part of the address, PTR name, node id or notes'),
  pool: z.union([z.literal('-'), z.string().regex(POOL_NAME, 'a pool name')]).optional().describe('Only IPs of this pool; `-`: IPs in no pool'),
};
const filter = z.strictObject({ ...filterShape, listed: z.boolean().optional() });

const rates = z.object({ from: z.string(), to: z.string(), attempts: z.number().int(), bounced: z.number().int(), complaints: z.number().int().nullable(), bounceRate: z.number().nullable(), complaintRate: z.number().nullable() });
const warmupState = z.object({
  ip: z.string(),
  nodeId: z.string().nullable(),
  status: z.string(),
  plan: z.object({ id: z.number().int(), name: z.string(), days: z.number().int() }).nullable(),
  warmupStart: z.string().nullable(),
  day: z.number().int(),
  completed: z.boolean(),
  todayAllowance: z.number().int().nullable(),
  sentToday: z.number().int(),
  remainingToday: z.number().int().nullable(),
  held: z.boolean(),
  heldReason: z.string().nullable(),
  lastGate: z.record(z.string(), z.unknown()).nullable().describe('The last daily gate: day, passed, reason, attempts, bounced, rates and the plan\'s limits'),
});

const plan = z.object({
  id: z.number().int(),
  name: z.string(),
  description: z.string(),
  schedule: z.array(z.number().int()),
  days: z.number().int(),
  maxBouncePercent: z.number(),
  maxComplaintPercent: z.number(),
  minDailyEvents: z.number().int(),
  builtin: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const planBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  description: z.string().max(1000).default(''),
  schedule: z.array(z.number().int().min(1).max(10_000_000)).min(1).max(365).describe('Daily limits, day 1 first; never decreasing (400 WARMUP_SCHEDULE_DECREASES naming the first day that does). After the last day the IP has no limit'),
  maxBouncePercent: z.number().min(0).max(100).default(2).describe('A day advances only while the bounce rate of the last 24 h is below this'),
  maxComplaintPercent: z.number().min(0).max(100).default(0.1).describe('… and the complaint rate below this (when complaints are measured)'),
  minDailyEvents: z.number().int().min(0).max(10_000_000).default(1).describe('… and at least this many delivery attempts were made'),
});

export { filter as ipFilterSchema, ipString, READ, WRITE };

export function sendingIpRoutes(app: App, _deps: AppDeps, s: { ips: SendingIpService; warmup: WarmupService; dnsbl: DnsblService; streams: StreamStore; clock: Clock }): void {
  const { ips, warmup } = s;
  app.get(
    '/api/v1/ips',
    {
      config: { access: READ },
      schema: {
        tags: ['ips'],
        summary: 'Sending IPs, in address order, keyset-paged',
        description: 'Filters combine with AND. `next` is the cursor of the following page (pass it as `after`); null on the last page. `total` counts every IP matching the filters.',
        querystring: z.object({ ...filterShape, after: ipString.optional().describe('Start after this address (the previous answer\'s `next`)'), limit: z.coerce.number().int().min(1).max(LIST_MAX_LIMIT).default(LIST_DEFAULT_LIMIT) }),
        response: { 200: z.object({ items: z.array(sendingIp), total: z.number().int(), next: z.string().nullable() }) },
      },
    },
    async (req) => ips.list(req.query),
  );

  app.post(
    '/api/v1/ips',
    {
      config: { access: WRITE },
      schema: {
        tags: ['ips'],
        summary: 'Register one sending IP',
        description: 'An address already registered is 409 IP_EXISTS. With `warmupPlanId` the IP starts warming at day 1 of the plan. `ipVersion` given and not the address\'s is 400 naming `ip`.',
        body: z.strictObject({
          ip: ipString,
          ipVersion: z.union([z.literal(4), z.literal(6)]).optional(),
          nodeId: nodeId.nullable().optional(),
          subnet: cidrString.nullable().optional(),
          notes: z.string().max(2000).nullable().optional(),
          status: z.enum(['active', 'paused']).optional(),
          warmupPlanId: z.number().int().min(1).optional(),
        }),
        response: { 201: sendingIp, 400: problemSchema, 409: problemSchema },
      },
    },
    async (req, reply) => reply.code(201).send(await ips.add(req.body)),
  );

  app.post(
    '/api/v1/ips/range',
    {
      config: { access: WRITE },
      schema: {
        tags: ['ips'],
        summary: 'Register every address of a range',
        description: `IPv4: a /24 or longer; its host addresses (a /24 adds 254: .1 … .254; /31 and /32 every address). IPv6: \`count\` addresses (1 … ${MAX_IPV6_COUNT}) after the network address. All or nothing: an address already registered is 409 IP_EXISTS listing them (\`existing\`), unless \`onConflict\` is \`skip\`.`,
        body: z.strictObject({
          cidr: z.string().max(64),
          count: z.number().int().min(1).max(MAX_IPV6_COUNT).optional(),
          nodeId: nodeId.nullable().optional(),
          notes: z.string().max(2000).nullable().optional(),
          status: z.enum(['active', 'paused']).optional(),
          warmupPlanId: z.number().int().min(1).optional(),
          onConflict: z.enum(['fail', 'skip']).default('fail'),
        }),
        response: { 201: z.object({ cidr: z.string(), added: z.array(z.string()), skipped: z.array(z.string()) }), 400: problemSchema, 409: problemSchema },
      },
    },
    async (req, reply) => reply.code(201).send(await ips.addRange(req.body)),
  );

  app.post(
    '/api/v1/ips/bulk-action',
    {
      config: { access: WRITE },
      schema: {
        tags: ['ips'],
        summary: 'Pause or resume IPs by list or by filter',
        description: 'Give `ips` or `filter` (not both). Pause skips retired and already paused IPs; resume applies to paused and blacklisted IPs and puts each back to warming (an unfinished plan) or active.',
        body: z
          .strictObject({ action: z.enum(['pause', 'resume']), ips: z.array(ipString).min(1).max(10_000).optional(), filter: filter.optional(), reason: z.string().max(500).optional() })
          .refine((b) => (b.ips === undefined) !== (b.filter === undefined), { message: 'give either ips or filter', path: ['ips'] }),
        response: { 200: z.object({ action: z.string(), changed: z.array(z.string()), unchanged: z.number().int(), unknown: z.array(z.string()) }), 400: problemSchema },
      },
    },
    async (req) => ips.bulk(req.body.action, { ips: req.body.ips, filter: req.body.filter }, req.body.reason ?? null),
  );

  app.get(
    '/api/v1/ips/warmup',
    { config: { access: READ }, schema: { tags: ['ips'], summary: 'Warm-up state of every IP on a plan', response: { 200: z.object({ items: z.array(warmupState) }) } } },
    async () => ({ items: await warmup.state() }),
  );

  app.get(
    '/api/v1/ips/:ip',
    { config: { access: READ }, schema: { tags: ['ips'], summary: 'One sending IP', params: ipParams, response: { 200: sendingIp, 404: problemSchema } } },
    async (req) => ips.get(req.params.ip),
  );

  app.patch(
    '/api/v1/ips/:ip',
    {
      config: { access: WRITE },
      schema: {
        tags: ['ips'],
        summary: 'Change notes, status, node or pool',
        description: 'Moving the IP to another pool (or to none) drops a poolRatio set for the old one unless the same request sets one. A poolRatio needs a pool.',
        params: ipParams,
        body: z.strictObject({
          notes: z.string().max(2000).nullable().optional(),
          status: status.optional(),
          nodeId: nodeId.nullable().optional(),
          pool: z.string().regex(POOL_NAME, 'a pool name').nullable().optional(),
          poolRatio: z.number().gt(0).max(1).nullable().optional(),
        }),
        response: { 200: sendingIp, 400: problemSchema, 404: problemSchema },
      },
    },
    async (req) => ips.update(req.params.ip, req.body),
  );

  app.delete(
    '/api/v1/ips/:ip',
    { config: { access: WRITE }, schema: { tags: ['ips'], summary: 'Retire a sending IP (kept with its history; no longer checked or warmed)', params: ipParams, response: { 200: sendingIp, 404: problemSchema } } },
    async (req) => ips.retire(req.params.ip),
  );

  app.get(
    '/api/v1/ips/:ip/warmup',
    { config: { access: READ }, schema: { tags: ['ips'], summary: 'Plan, day, today\'s allowance, sent today, held or not and why', params: ipParams, response: { 200: warmupState, 404: problemSchema } } },
    async (req) => (await warmup.state(req.params.ip))[0]!,
  );

  app.put(
    '/api/v1/ips/:ip/warmup',
    {
      config: { access: WRITE },
      schema: { tags: ['ips'], summary: 'Put an IP on a warm-up plan from day 1', params: ipParams, body: z.strictObject({ planId: z.number().int().min(1) }), response: { 200: sendingIp, 400: problemSchema, 404: problemSchema, 409: problemSchema } },
    },
    async (req) => ips.startWarmup(req.params.ip, req.body.planId),
  );

  app.get(
    '/api/v1/ips/:ip/reputation',
    {
      config: { access: READ },
      schema: {
        tags: ['ips'],
        summary: 'Is this IP\'s mail OK? Listings, checks, warm-up, bounce and complaint rates (24 h, 7 d), PTR — with the evidence',
        params: ipParams,
        response: {
          200: z.object({
            ip: z.string(),
            checkedAt: z.string(),
            verdict: z.enum(['ok', 'attention', 'bad']),
            reasons: z.array(z.string()),
            status: z.object({ status: z.string(), reason: z.string().nullable(), since: z.string().nullable() }),
            listings: z.array(z.object({ zone: z.string(), tier: z.string(), since: z.string().nullable(), response: z.string().nullable(), reason: z.string().nullable(), delistUrl: z.string().nullable(), checkedAt: z.string() })),
            dnsbl: z.object({ zones: z.number().int(), clean: z.number().int(), listed: z.number().int(), errors: z.array(z.object({ zone: z.string(), error: z.string().nullable(), checkedAt: z.string() })), lastCheckedAt: z.string().nullable() }),
            warmup: warmupState.nullable(),
            rates: z.object({ last24h: rates, last7d: rates }),
            ptr: z.object({ record: z.string().nullable(), confirmed: z.boolean().nullable(), checkedAt: z.string().nullable(), error: z.string().nullable() }),
            score: z
              .object({
                score: z.number().int().min(0).max(100),
                deductions: z.array(z.object({ term: z.string(), points: z.number(), value: z.union([z.number(), z.string()]).nullable() })),
                notEvaluated: z.array(z.string()),
              })
              .describe('The reputation score as computed now, with its terms (reputation_score holds the one the scoring job last stored)'),
          }),
          404: problemSchema,
        },
      },
    },
    async (req) => reputationOf(req.params.ip, s),
  );

  app.post(
    '/api/v1/ips/:ip/check',
    {
      config: { access: WRITE, audit: false },
      schema: {
        tags: ['ips'],
        summary: 'Check an IP against every enabled DNSBL zone and its PTR now',
        description: 'Recorded like a scheduled check (blacklist_checks, listings, auto-response). Runs outside any transaction while it waits on DNS.',
        params: ipParams,
        response: { 200: z.object({ checked: z.number().int(), listed: z.number().int(), clean: z.number().int(), errors: z.number().int(), paused: z.array(z.string()), ptrChecked: z.number().int() }), 404: problemSchema },
      },
    },
    async (req) => {
      const ip = await ips.get(req.params.ip);
      const r = await s.dnsbl.runRound({ ips: [ip.ip] });
      return { checked: r.checked, listed: r.listed, clean: r.clean, errors: r.errors, paused: r.paused, ptrChecked: r.ptrChecked };
    },
  );

  app.get('/api/v1/warmup-plans', { config: { access: READ }, schema: { tags: ['ips'], summary: 'Warm-up plans (the three templates and any added)', response: { 200: z.object({ items: z.array(plan) }) } } }, async () => ({ items: await ips.listPlans() }));
  app.post(
    '/api/v1/warmup-plans',
    { config: { access: WRITE }, schema: { tags: ['ips'], summary: 'Add a warm-up plan', body: planBody, response: { 201: plan, 400: problemSchema, 409: problemSchema } } },
    async (req, reply) => reply.code(201).send(await ips.createPlan(req.body)),
  );
  app.get('/api/v1/warmup-plans/:id', { config: { access: READ }, schema: { tags: ['ips'], summary: 'One warm-up plan', params: idParams, response: { 200: plan, 404: problemSchema } } }, async (req) => ips.getPlan(req.params.id));
  app.put(
    '/api/v1/warmup-plans/:id',
    { config: { access: WRITE }, schema: { tags: ['ips'], summary: 'Replace a warm-up plan (IPs on it take the new limits from their next step)', params: idParams, body: planBody, response: { 200: plan, 400: problemSchema, 404: problemSchema, 409: problemSchema } } },
    async (req) => ips.updatePlan(req.params.id, req.body),
  );
}
