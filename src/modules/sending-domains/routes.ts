/**
 * /api/v1/domains (the requirements' §20 `/domains…`): sending domains, their DNS
 * authentication checks (check now, history) and the per-domain reputation overview.
 */
import { z } from 'zod';
import type { App } from '../../http/app.ts';
import { pageOf, pageQuery } from '../../http/pagination.ts';
import { problemSchema } from '../../http/problem.ts';
import type { DomainChecker } from './checker.ts';
import { DOMAIN_RULE, isSelector, isSendingDomain, normalizeDomain, SELECTOR_RULE } from './names.ts';
import { domainReputation } from './reputation.ts';
import { CHECK_OUTCOMES, DMARC_POLICIES, DOMAIN_STATUSES, MAX_SELECTORS, PART_STATES } from './schema.ts';
import type { SendingDomainStore } from './service.ts';
import type { Database } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import type { StreamStore } from '../../timeseries/stream-store.ts';

const READ = { role: 'viewer', scope: 'read' } as const;
/** Changing the list of sending domains (and checking one now) is configuration: operator role, or an API key with the admin scope. */
const WRITE = { role: 'operator', scope: 'admin' } as const;

const domainName = z.string().max(254).transform(normalizeDomain).refine(isSendingDomain, DOMAIN_RULE);
const params = z.object({ domain: domainName.describe('The sending domain (case-insensitive)') });
const selectors = z
  .array(z.string().max(63).transform((s) => s.trim().toLowerCase()).refine(isSelector, SELECTOR_RULE))
  .max(MAX_SELECTORS)
  .describe(`DKIM selectors whose keys are looked up at <selector>._domainkey.<domain> (at most ${MAX_SELECTORS})`);
const dailyLimit = z.number().int().min(0).max(2_147_483_647).nullable().describe('Messages per day the domain may send (informational; null: no limit)');
const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

const part = z.enum(PART_STATES);
const policy = z.enum(DMARC_POLICIES).nullable();
const evidence = z
  .object({
    spf: z.object({
      state: part,
      reason: z.string(),
      records: z.array(z.string()).describe('The TXT records of the domain that start with v=spf1'),
      all: z.string().nullable().describe('The record\'s all mechanism with its qualifier (-all, ~all, ?all, +all)'),
      ips: z.array(z.object({ ip: z.string(), result: z.enum(['pass', 'fail', 'softfail', 'neutral', 'none', 'permerror', 'temperror', 'unknown']), lookups: z.number().int(), detail: z.string() })).describe('check_host() per sending IP'),
      error: z.string().optional(),
    }),
    dkim: z.object({
      state: part,
      reason: z.string(),
      selectors: z.array(
        z.object({
          selector: z.string(),
          name: z.string(),
          state: z.enum(['configured', 'missing', 'revoked', 'invalid', 'error']),
          record: z.string().nullable(),
          keyType: z.string().nullable(),
          error: z.string().optional(),
        }),
      ),
    }),
    dmarc: z.object({
      state: part,
      reason: z.string(),
      records: z.array(z.string()),
      source: z.enum(['domain', 'organizational']).nullable().optional().describe('Where the applied record was found: at the domain, or at its organisational domain (then policy is that record\'s sp, or its p). Absent in checks made before Opsdeck looked there'),
      organizationalDomain: z.string().nullable().optional().describe('The organisational domain by the Public Suffix List; null when the domain is one'),
      policy,
      subdomainPolicy: policy,
      pct: z.number().int().nullable(),
      rua: z.array(z.string()),
      error: z.string().optional(),
    }),
    sendingIps: z.array(z.string()),
  })
  .describe('What the check read and concluded, per part');

const domain = z.object({
  domain: z.string(),
  status: z.enum(DOMAIN_STATUSES),
  dailyLimit: z.number().int().nullable(),
  dkimSelectors: z.array(z.string()),
  spfConfigured: z.boolean().describe('One valid SPF record that authorises every sending IP (as of the last check DNS answered)'),
  dkimConfigured: z.boolean().describe('A key (not revoked) for every configured selector'),
  dmarcConfigured: z.boolean().describe('One valid DMARC record'),
  dmarcPolicy: policy,
  lastCheckedAt: z.string().nullable(),
  lastCheckOutcome: z.enum(CHECK_OUTCOMES).nullable().describe('error: some lookup got no answer; the flags of those parts kept their values'),
  consecutiveCheckErrors: z.number().int(),
  lastCheck: evidence.nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const check = z.object({
  id: z.number().int(),
  domain: z.string(),
  checkedAt: z.string(),
  outcome: z.enum(CHECK_OUTCOMES),
  spf: part,
  dkim: part,
  dmarc: part,
  dmarcPolicy: policy,
  durationMs: z.number().int(),
  evidence,
});

const rate = z.number().nullable();
const window = z.object({
  from: z.string(),
  to: z.string(),
  sent: z.number().int(),
  delivered: z.number().int(),
  bounced: z.number().int(),
  deferred: z.number().int(),
  rejected: z.number().int(),
  attempts: z.number().int().describe('delivered + bounced + deferred + rejected'),
  bounceRate: rate.describe('bounced / attempts, percent'),
  hardBounces: z.number().int(),
  hardBounceRate: rate.describe('hard bounces / attempts, percent'),
  complaints: z.number().int().describe('Feedback-loop reports: email_events of type complaint'),
  complaintRate: z.number().nullable().describe('complaints / delivered, in percent; null without deliveries'),
  avgDeliveryMs: rate,
  dkimPassRate: rate.describe('passes among delivered events carrying a DKIM result, percent'),
  spfPassRate: rate,
  dmarcPassRate: rate,
});
const reputation = z.object({
  domain: z.string(),
  at: z.string(),
  problems: z.array(z.string()),
  authentication: domain.pick({ spfConfigured: true, dkimConfigured: true, dmarcConfigured: true, dmarcPolicy: true, dkimSelectors: true, lastCheckedAt: true, lastCheckOutcome: true, consecutiveCheckErrors: true, lastCheck: true }),
  last24h: window,
  last7d: window,
  health: z.object({
    score: z.number().nullable().describe('The §11.3 domain health score (0–100) over the last 24 h; null without delivery attempts'),
    blacklistedIps: z.array(z.string()).nullable().describe("The domain's sending IPs of the last 24 h that are on a DNSBL zone at their last check (the any_ip_blacklisted term's evidence); null when not known"),
    deductions: z.array(z.object({ term: z.string(), points: z.number(), value: z.number().nullable() })),
    notEvaluated: z.array(z.string()),
  }),
});

export function sendingDomainRoutes(app: App, o: { db: Database; streams: StreamStore; store: SendingDomainStore; checker: DomainChecker; clock: Clock; listedIps?: (() => Promise<string[]>) | undefined }): void {
  const { store, checker } = o;
  app.get(
    '/api/v1/domains',
    {
      config: { access: READ },
      schema: {
        tags: ['domains'],
        summary: 'Sending domains (by name)',
        querystring: pageQuery.extend({
          status: z.enum(DOMAIN_STATUSES).optional(),
          spfConfigured: flag.optional(),
          dkimConfigured: flag.optional(),
          dmarcConfigured: flag.optional(),
          search: z.string().trim().min(1).max(253).optional().describe('Part of the domain name'),
        }),
        response: { 200: pageOf(domain) },
      },
    },
    async (req) => store.list(req.query),
  );

  app.post(
    '/api/v1/domains',
    {
      config: { access: WRITE },
      schema: {
        tags: ['domains'],
        summary: 'Add a sending domain',
        description: `The domain must be ${DOMAIN_RULE} (400 naming \`domain\`); one already listed is 409 DOMAIN_EXISTS. Its records are read by the next run of the sending-domain-checks job, or at once with POST /api/v1/domains/{domain}/check.`,
        body: z.strictObject({ domain: domainName, status: z.enum(DOMAIN_STATUSES).default('active'), dailyLimit: dailyLimit.default(null), dkimSelectors: selectors.default([]) }),
        response: { 201: domain, 409: problemSchema },
      },
    },
    async (req, reply) => reply.code(201).send(await store.create(req.body)),
  );

  app.get(
    '/api/v1/domains/:domain',
    { config: { access: READ }, schema: { tags: ['domains'], summary: 'One sending domain with its last check', params, response: { 200: domain, 404: problemSchema } } },
    async (req) => store.get(req.params.domain),
  );

  app.patch(
    '/api/v1/domains/:domain',
    {
      config: { access: WRITE },
      schema: {
        tags: ['domains'],
        summary: 'Change a sending domain\'s status, daily limit or DKIM selectors',
        params,
        body: z.strictObject({ status: z.enum(DOMAIN_STATUSES).optional(), dailyLimit: dailyLimit.optional(), dkimSelectors: selectors.optional() }),
        response: { 200: domain, 404: problemSchema },
      },
    },
    async (req) => store.update(req.params.domain, req.body),
  );

  app.delete(
    '/api/v1/domains/:domain',
    {
      config: { access: WRITE },
      schema: { tags: ['domains'], summary: 'Remove a sending domain and its check history', params, response: { 204: z.null().describe('No content'), 404: problemSchema } },
    },
    async (req, reply) => {
      await store.remove(req.params.domain);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/domains/:domain/check',
    {
      config: { access: WRITE, audit: false },
      schema: {
        tags: ['domains'],
        summary: 'Check a sending domain\'s SPF, DKIM and DMARC records now',
        description: 'Reads the records over DNS (the configured resolver) and stores the check like a scheduled one. A lookup without an answer makes its part `error` (outcome `error`) and leaves that part\'s flag as it was.',
        params,
        response: { 200: check, 404: problemSchema },
      },
    },
    async (req) => checker.check(req.params.domain),
  );

  app.get(
    '/api/v1/domains/:domain/history',
    {
      config: { access: READ },
      schema: { tags: ['domains'], summary: 'The domain\'s checks, newest first', params, querystring: pageQuery, response: { 200: pageOf(check), 404: problemSchema } },
    },
    async (req) => store.history(req.params.domain, req.query),
  );

  app.get(
    '/api/v1/domains/:domain/reputation',
    {
      config: { access: READ },
      schema: {
        tags: ['domains'],
        summary: 'Is this domain\'s mail OK? DNS authentication with evidence, bounce rates and pass rates of 24 h and 7 d, the health score',
        description: 'Figures from email_events by from_domain, read from the sender-health rollups over whole 5-minute buckets (see docs/mail.md, "Sending domains"). Complaints are email_events of type complaint (feedback-loop reports).',
        params,
        response: { 200: reputation, 404: problemSchema },
      },
    },
    async (req) => domainReputation(o.db, o.streams, store, o.clock, req.params.domain, o.listedIps),
  );
}
