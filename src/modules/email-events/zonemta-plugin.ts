/**
 * The event format of the mail-cluster system's ZoneMTA plugin
 * (tinovn/tinomail-monitor `packages/tino-zonemta-delivery-tracker/index.js`,
 * commit 6515c5d): arrays of up to 50 events `{ time, eventType, queueId,
 * messageId, fromAddress, toAddress, toDomain, mtaNode, mxHost, statusCode,
 * statusMessage, deliveryTimeMs, bounceType, bounceCategory, bounceMessage }`
 * POSTed to /api/v1/events/ingest with `x-api-key`. The same endpoint takes the
 * requirements' §5.8 event schema in snake_case (`event_id`, `from_address`,
 * `sender_ip`, `message_size_bytes` …).
 *
 * This module maps one such event to an email_events event, as the plugin's own
 * backend does: `time` is the timestamp; from_user / from_domain / to_domain
 * come from the addresses when absent; ZoneMTA's bounce categories become
 * Opsdeck's; fields email_events does not have are dropped and reported (see
 * docs/adr/0009-unknown-fields.md). Everything else is validated exactly like
 * POST /api/v1/events/email.
 */
import { camelCase } from '../../timeseries/family.ts';
import { emailEvents } from './stream.ts';

/**
 * ZoneMTA's bounce reasons (config/bounces.txt: rate, block, spam, message, config,
 * recipient, other, capacity, greylist, network, protocol, auth, blacklist, virus)
 * → email_events.bounce_category.
 */
export const ZONEMTA_BOUNCE_CATEGORIES: Readonly<Record<string, string>> = {
  recipient: 'user_unknown',
  capacity: 'mailbox_full',
  spam: 'spam',
  virus: 'spam',
  blacklist: 'blacklist',
  block: 'policy',
  policy: 'policy',
  auth: 'policy',
  config: 'policy',
  message: 'policy',
  rate: 'rate_limit',
  greylist: 'greylist',
  network: 'network',
  protocol: 'network',
  other: 'other',
};

/** Names of the requirements' §5.8 schema that differ from email_events' fields. */
const ALIASES: Readonly<Record<string, string>> = {
  time: 'timestamp',
  senderIp: 'sendingIp',
  messageSizeBytes: 'messageSize',
};

const FIELDS = new Set(['timestamp', ...emailEvents.columns.map((c) => c.field)]);

export interface MappedEvent {
  /** The email_events event (or the input unchanged when it is not an object: validation then names it). */
  event: unknown;
  /** Field names dropped because email_events has no such field. */
  ignored: string[];
}

function domainOf(address: unknown): string | undefined {
  if (typeof address !== 'string') return undefined;
  const at = address.lastIndexOf('@');
  return at > 0 && at < address.length - 1 ? address.slice(at + 1) : undefined;
}

function userOf(address: unknown): string | undefined {
  if (typeof address !== 'string') return undefined;
  const at = address.lastIndexOf('@');
  return at > 0 ? address.slice(0, at) : undefined;
}

export function fromPluginEvent(input: unknown): MappedEvent {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { event: input, ignored: [] };
  const out: Record<string, unknown> = {};
  const ignored: string[] = [];
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    const camel = camelCase(key);
    const field = ALIASES[camel] ?? camel;
    if (!FIELDS.has(field)) {
      ignored.push(key);
      continue;
    }
    // `timestamp` wins over its alias `time`, `sendingIp` over `senderIp`: the native name is explicit
    if (field in out && ALIASES[camel] !== undefined) continue;
    out[field] = value;
  }
  if (typeof out.queueId === 'number') out.queueId = String(out.queueId);
  if (out.fromUser === undefined) {
    const u = userOf(out.fromAddress);
    if (u !== undefined) out.fromUser = u;
  }
  if (out.fromDomain === undefined) {
    const d = domainOf(out.fromAddress);
    if (d !== undefined) out.fromDomain = d;
  }
  if (out.toDomain === undefined) {
    const d = domainOf(out.toAddress);
    if (d !== undefined) out.toDomain = d;
  }
  if (typeof out.bounceCategory === 'string') {
    const c = out.bounceCategory.toLowerCase();
    out.bounceCategory = ZONEMTA_BOUNCE_CATEGORIES[c] ?? c;
  }
  return { event: out, ignored };
}
