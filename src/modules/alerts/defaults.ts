/**
 * The 23 alert templates of the mail-cluster requirements (§17.1), as rules, and
 * the rules of modules that raise alerts over their own data (sending domains, configuration tracking).
 * Seeded once by name (seedDefaultRules): a default already seeded is never
 * written again, so an admin's edits survive restarts and a deleted default
 * stays deleted (its name stays in alert_rule_defaults). A rule an admin made
 * under a default's name before the seeding is left alone. docs/alerts.md
 * gives the reason of each.
 */
import type { Database } from '../../db/database.ts';
import { ruleInputSchema, type RuleInput } from './conditions.ts';
import type { AlertsService } from './service.ts';

type Def = Omit<RuleInput, 'description' | 'noDataPolicy' | 'channels' | 'escalation' | 'repeatIntervalSeconds' | 'labels' | 'enabled' | 'scope' | 'forSeconds'> &
  Partial<Pick<RuleInput, 'noDataPolicy' | 'scope' | 'forSeconds'>> & { description: string };

const bounce = (threshold: number, windowSeconds: number, forSeconds: number) => ({
  condition: {
    kind: 'stream' as const,
    stream: 'email',
    measure: 'ratio' as const,
    match: { column: 'event_type', values: ['bounced'] },
    of: { column: 'event_type', values: ['delivered', 'bounced', 'deferred', 'rejected'] },
    per: 'cluster' as const,
    minEvents: 50,
    comparison: '>' as const,
    threshold,
    windowSeconds,
  },
  forSeconds,
  noDataPolicy: 'ok' as const,
});

export const DEFAULT_RULES: readonly Def[] = [
  { name: 'Node Down', severity: 'critical', description: 'The agent of a node sent no metrics for more than 2 minutes.', condition: { kind: 'node_silence', silentSeconds: 120 } },
  { name: 'MongoDB No Primary', severity: 'critical', description: 'No fresh MongoDB member reports itself PRIMARY (rs.status() without a primary).', condition: { kind: 'mongodb_no_primary' }, noDataPolicy: 'ok' },
  {
    name: 'MongoDB Repl Lag',
    severity: 'critical',
    description: 'A MongoDB secondary is more than 30 s behind the primary.',
    condition: { kind: 'metric', family: 'mongodb', column: 'repl_lag_seconds', aggregation: 'last', comparison: '>', threshold: 30, recoveryThreshold: 10, windowSeconds: 60 },
    noDataPolicy: 'ok',
  },
  { name: 'IP Blacklisted (Critical)', severity: 'critical', description: 'A sending IP is listed on Spamhaus, Barracuda or SpamCop.', condition: { kind: 'dnsbl_listed', lists: 'critical' } },
  { name: 'Multiple IPs Blacklisted', severity: 'critical', description: 'More than 5 sending IPs of one node are listed on a DNSBL.', condition: { kind: 'dnsbl_node_ips', comparison: '>', threshold: 5 } },
  { name: 'High Bounce Rate', severity: 'critical', description: 'More than 10 % of the cluster\'s deliveries bounced, continuously for 15 minutes.', ...bounce(10, 300, 900) },
  { name: 'Very High Bounce Rate', severity: 'critical', description: 'More than 25 % of the cluster\'s deliveries bounced, continuously for 5 minutes.', ...bounce(25, 300, 300) },
  {
    name: 'Queue Backlog',
    severity: 'critical',
    description: 'More than 20 000 deliveries queued on one node (per ZoneMTA sending zone).',
    condition: { kind: 'metric', family: 'zonemta', column: 'queue_size', aggregation: 'last', comparison: '>', threshold: 20_000, recoveryThreshold: 15_000, windowSeconds: 120 },
    noDataPolicy: 'ok',
  },
  {
    name: 'Disk Full',
    severity: 'critical',
    description: 'Less than 5 % free space on a node\'s data filesystem.',
    condition: { kind: 'metric', family: 'system', column: 'disk_percent', aggregation: 'last', comparison: '>', threshold: 95, recoveryThreshold: 94, windowSeconds: 120 },
    noDataPolicy: 'ok',
  },
  { name: 'All WildDuck Down', severity: 'critical', description: 'Every WildDuck node (both) sent no metrics for more than 2 minutes.', condition: { kind: 'role_down', role: 'wildduck', silentSeconds: 120 }, noDataPolicy: 'ok' },
  { name: 'IP Blacklisted (Any)', severity: 'warning', description: 'A sending IP is listed on any DNSBL checked.', condition: { kind: 'dnsbl_listed', lists: 'any' } },
  { name: 'Bounce Rate Elevated', severity: 'warning', description: 'More than 5 % of the cluster\'s deliveries bounced, continuously for 30 minutes.', ...bounce(5, 300, 1800) },
  {
    name: 'CPU High',
    severity: 'warning',
    description: 'CPU busy above 85 % (5-minute average), continuously for 10 minutes.',
    condition: { kind: 'metric', family: 'system', column: 'cpu_percent', aggregation: 'avg', comparison: '>', threshold: 85, recoveryThreshold: 80, windowSeconds: 300 },
    forSeconds: 600,
    noDataPolicy: 'ok',
  },
  {
    name: 'RAM High',
    severity: 'warning',
    description: 'Memory in use above 90 % (1-minute average), continuously for 5 minutes.',
    condition: { kind: 'metric', family: 'system', column: 'ram_percent', aggregation: 'avg', comparison: '>', threshold: 90, recoveryThreshold: 85, windowSeconds: 60 },
    forSeconds: 300,
    noDataPolicy: 'ok',
  },
  {
    name: 'Disk Low',
    severity: 'warning',
    description: 'Less than 15 % free space on a node\'s data filesystem.',
    condition: { kind: 'metric', family: 'system', column: 'disk_percent', aggregation: 'last', comparison: '>', threshold: 85, recoveryThreshold: 83, windowSeconds: 120 },
    noDataPolicy: 'ok',
  },
  { name: 'SMTP Port Down', severity: 'warning', description: 'A probe of port 25 (label port=25) gets no answer.', condition: { kind: 'probe', statuses: ['down'], match: { port: '25' } }, noDataPolicy: 'ok' },
  { name: 'IMAP Down', severity: 'warning', description: 'A probe of port 993 (label port=993) gets no answer.', condition: { kind: 'probe', statuses: ['down'], match: { port: '993' } }, noDataPolicy: 'ok' },
  {
    name: 'Redis Memory High',
    severity: 'warning',
    description: 'Redis uses more than 80 % of its maxmemory (servers without a limit are left out).',
    condition: { kind: 'metric', family: 'redis', column: 'memory_used_bytes', divideBy: 'memory_max_bytes', aggregation: 'last', comparison: '>', threshold: 0.8, recoveryThreshold: 0.75, windowSeconds: 60 },
    noDataPolicy: 'ok',
  },
  { name: 'User Abuse Detected', severity: 'warning', description: 'A user\'s sending shows a volume spike, a high bounce rate or spam reports.', condition: { kind: 'user_abuse' } },
  {
    name: 'Config Change High Risk',
    severity: 'warning',
    description: 'A tracked configuration file changed in a HIGH-risk way (nginx listen/server_name/ssl_*, published container ports, privileged or host-mounted containers, secrets, SSH access) and the change is not marked processed yet.',
    condition: { kind: 'config_change', minRisk: 'HIGH' },
    noDataPolicy: 'ok',
  },
  { name: 'Cert Expiring', severity: 'warning', description: 'A TLS certificate checked by a probe expires in less than 7 days.', condition: { kind: 'cert_expiry', withinDays: 7 } },
  {
    name: 'Disk Growth Fast',
    severity: 'info',
    description: 'At the growth of the last 6 hours, a node\'s data filesystem is full within 30 days.',
    condition: { kind: 'metric', family: 'system', column: 'disk_percent', aggregation: 'predict_linear', horizonSeconds: 30 * 86_400, comparison: '>=', threshold: 100, windowSeconds: 6 * 3600 },
    noDataPolicy: 'ok',
  },
  {
    name: 'MongoDB Disk Growing',
    severity: 'info',
    description: 'More than 70 % of the data filesystem of a MongoDB node is used.',
    condition: { kind: 'metric', family: 'system', column: 'disk_percent', aggregation: 'last', comparison: '>', threshold: 70, recoveryThreshold: 68, windowSeconds: 120 },
    scope: { kind: 'role', values: ['mongodb'] },
    noDataPolicy: 'ok',
  },
  { name: 'Warmup IP Held', severity: 'warning', description: 'A warming sending IP is held at its day: its bounce or complaint rate of the last 24 h failed its plan\'s gate.', condition: { kind: 'warmup_held' } },
  { name: 'Warmup IP High Bounce', severity: 'info', description: 'A sending IP in warm-up has more than 5 % bounces.', condition: { kind: 'warmup_bounce', comparison: '>', threshold: 5, windowSeconds: 3600 } },
  {
    name: 'Sending Domain Authentication',
    severity: 'warning',
    description: 'A sending domain\'s SPF, DKIM or DMARC record is missing, invalid, revoked or no longer authorises the sending IPs, or 3 checks in a row could not read its DNS.',
    condition: { kind: 'domain_auth', require: ['spf', 'dkim', 'dmarc'], minDmarcPolicy: 'none', errorChecks: 3 },
  },
  // Home-lab devices (src/modules/homelab/alerts.ts; docs/homelab.md).
  { name: 'Device Host Key Changed', severity: 'critical', description: 'A home-lab device presented another SSH host key than the pinned one; its collection stopped until an admin accepts the key.', condition: { kind: 'device_host_key_changed' }, noDataPolicy: 'ok' },
  { name: 'Device Collection Failed', severity: 'warning', description: 'The last collection from a home-lab device failed (unreachable, refused, timed out), for 10 minutes.', condition: { kind: 'device_collection_failed' }, forSeconds: 600, noDataPolicy: 'ok' },
  { name: 'Drive SMART Failing', severity: 'critical', description: 'A drive\'s SMART overall-health self-assessment failed.', condition: { kind: 'smart_failing' }, noDataPolicy: 'ok' },
  { name: 'Drive Reallocated Sectors Rising', severity: 'warning', description: 'Reallocated sectors of a drive rose within a day.', condition: { kind: 'smart_sectors_rising', attribute: 'reallocated', windowSeconds: 86_400 }, noDataPolicy: 'ok' },
  { name: 'Drive Pending Sectors Rising', severity: 'warning', description: 'Sectors pending reallocation of a drive rose within a day.', condition: { kind: 'smart_sectors_rising', attribute: 'pending', windowSeconds: 86_400 }, noDataPolicy: 'ok' },
  { name: 'Drive Temperature High', severity: 'warning', description: 'A drive is hotter than 55 °C.', condition: { kind: 'smart_temperature', threshold: 55 }, forSeconds: 600, noDataPolicy: 'ok' },
];

/** The default rules as complete inputs (defaults of the rule schema applied). */
export const defaultRuleInputs = (): RuleInput[] => DEFAULT_RULES.map((d) => ruleInputSchema.parse({ noDataPolicy: 'ok', ...d }));

/** Seeds the defaults not seeded before; returns the names created. Safe to run from several processes at once. */
export async function seedDefaultRules(db: Database, alerts: AlertsService): Promise<string[]> {
  const created: string[] = [];
  for (const input of defaultRuleInputs()) {
    await db.transaction(async (tx) => {
      const claimed = await tx.queryOne('INSERT INTO alert_rule_defaults (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING name', [input.name]);
      if (!claimed) return;
      const taken = await tx.queryOne('SELECT 1 FROM alert_rules WHERE name = $1', [input.name]);
      if (taken) return;
      await alerts.createRule(input, { isDefault: true, tx });
      created.push(input.name);
    });
  }
  return created;
}
