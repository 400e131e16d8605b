/**
 * Deterministic, stateless generator of realistic email_events (what a ZoneMTA
 * plugin POSTs to /api/v1/events/email). Every event is a pure function of its
 * index in a data set (and a seed), so the benchmark process, the HTTP load
 * worker and the COPY loader produce exactly the same events.
 *
 * The shape of a mail cluster's traffic: 20 sender domains (a few large
 * senders), 500 recipient domains (Zipf-like: the big mailbox providers take
 * most of the mail), 10 MTA nodes with 3 sending IPs each, ~85 % deliveries,
 * deferrals, hard and soft bounces with their SMTP codes, a few rejections and
 * receptions; delivery times with a long tail; authentication mostly passing.
 */
import { noise } from './gen.ts';
import { emailEvents } from '../../src/modules/email-events/stream.ts';
import { streamInsertColumns } from '../../src/timeseries/stream-ingest.ts';

/** The camelCase ingest form of one email event. */
export interface EmailEvent {
  timestamp: string;
  eventId: string;
  eventType: string;
  messageId: string;
  queueId: string;
  fromAddress: string;
  fromUser: string;
  fromDomain: string;
  toAddress: string;
  toDomain: string;
  mtaNode: string;
  sendingIp: string | null;
  sendingIpV6: string | null;
  mxHost: string | null;
  statusCode: number | null;
  statusMessage: string | null;
  deliveryTimeMs: number | null;
  queueTimeMs: number | null;
  totalTimeMs: number | null;
  bounceType: string | null;
  bounceCategory: string | null;
  bounceMessage: string | null;
  messageSize: number;
  hasAttachment: boolean;
  attachmentCount: number;
  subjectHash: string;
  dkimResult: string;
  spfResult: string;
  dmarcResult: string;
  spamScore: number;
  spamAction: string;
  spamSymbols: string[];
}

/** `events` events, evenly spaced `periodMs` apart, the last one at `endMs`; `seed` tells data sets apart. */
export interface EmailShape {
  events: number;
  endMs: number;
  periodMs: number;
  seed?: number;
}

export const MTA_NODES = Array.from({ length: 10 }, (_, i) => `mta-${String(i + 1).padStart(2, '0')}`);
/** Three sending IPs per node (documentation ranges of RFC 5737). */
export const SENDING_IPS = Array.from({ length: 30 }, (_, i) => (i < 15 ? `192.0.2.${10 + i}` : `198.51.100.${10 + i}`));
export const SENDER_DOMAINS = [
  'shop.example.com', 'news.example.org', 'billing.example.net', 'mail.example.com', 'alerts.example.io',
  'crm.example.com', 'support.example.org', 'events.example.net', 'travel.example.com', 'bank.example.org',
  'jobs.example.net', 'social.example.com', 'school.example.edu', 'city.example.gov', 'club.example.org',
  'store.example.net', 'media.example.com', 'health.example.org', 'games.example.io', 'forum.example.net',
];
const BIG_PROVIDERS = ['gmail.com', 'outlook.com', 'yahoo.com', 'hotmail.com', 'icloud.com', 'gmx.de', 'web.de', 'aol.com', 'proton.me', 'mail.ru'];
export const RECIPIENT_DOMAINS = [...BIG_PROVIDERS, ...Array.from({ length: 490 }, (_, i) => `corp${String(i + 1).padStart(3, '0')}.example`)];

/** A uniform number in [0, 1) from three integers (no state): the generator of gen.ts. */
export { noise };

const hex32 = (x: number) => (Math.floor(x * 4294967296) >>> 0).toString(16).padStart(8, '0');
const pick = <T>(xs: readonly T[], u: number): T => xs[Math.min(xs.length - 1, Math.floor(u * xs.length))]!;

/** A RFC 9562 version-4-shaped UUID from the event's index and seed (deterministic, unique per (k, seed)). */
function uuidOf(k: number, seed: number): string {
  const lo = k >>> 0;
  const hi = Math.floor(k / 4294967296);
  const a = hex32(noise(lo, hi ^ seed, 101));
  const b = hex32(noise(lo, hi ^ seed, 102));
  const c = hex32(noise(lo, hi ^ seed, 103));
  // the index itself in the last 12 digits keeps ids unique
  const d = (k % 2 ** 48).toString(16).padStart(12, '0');
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${(8 + (seed & 3)).toString(16)}${c.slice(1, 4)}-${d}`;
}

/** Standard normal from two uniforms (Box–Muller). */
const normal = (u: number, v: number) => Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);

const DEFERRALS: [number, string][] = [
  [421, '421 4.7.0 Try again later, closing connection'],
  [450, '450 4.2.1 The user you are trying to contact is receiving mail too quickly'],
  [451, '451 4.7.1 Greylisted, please try again in 300 seconds'],
];
const HARD: [number, string, string][] = [
  [550, 'user_unknown', '550 5.1.1 The email account that you tried to reach does not exist'],
  [550, 'policy', '550 5.7.1 Message rejected due to local policy'],
  [554, 'spam', '554 5.7.1 Message rejected as spam'],
  [553, 'other', '553 5.1.3 Invalid recipient address syntax'],
];
const SOFT: [number, string, string][] = [
  [452, 'mailbox_full', '452 4.2.2 The email account that you tried to reach is over quota'],
  [421, 'other', '421 4.4.2 Connection timed out'],
];
const SYMBOLS = ['DKIM_SIGNED', 'R_SPF_ALLOW', 'DMARC_POLICY_ALLOW', 'BAYES_HAM', 'MIME_GOOD', 'RCVD_TLS_ALL', 'ARC_NA', 'FROM_HAS_DN', 'TO_DN_NONE', 'MID_RHS_MATCH_FROM'];

/** Event number `k` of a data set. */
export function emailEventAt(s: EmailShape, k: number): EmailEvent {
  const seed = s.seed ?? 0;
  const u = (ch: number) => noise(k >>> 0, Math.floor(k / 4294967296) ^ seed, ch);
  const time = s.endMs - Math.round((s.events - 1 - k) * s.periodMs);
  // sender: a few large senders (u^2 skews towards the first domains)
  const fromDomain = pick(SENDER_DOMAINS, u(1) ** 2);
  const fromUser = `user${Math.floor(u(2) * 400)}`;
  // recipient: ~60 % to the ten big providers, the rest Zipf-like over 490 smaller domains
  const toDomain = u(3) < 0.6 ? pick(BIG_PROVIDERS, u(4) ** 1.5) : RECIPIENT_DOMAINS[10 + Math.floor(490 * u(4) ** 2.5)]!;
  const ipIndex = Math.floor(u(5) * 30);
  const mtaNode = MTA_NODES[ipIndex % 10]!;
  const r = u(6);
  // 85 % delivered, 4 % received, 5 % deferred, 2.5 % hard + 1.5 % soft bounces, 1 % rejected, 1 % sent (queued)
  const eventType = r < 0.85 ? 'delivered' : r < 0.89 ? 'received' : r < 0.94 ? 'deferred' : r < 0.98 ? 'bounced' : r < 0.99 ? 'rejected' : 'sent';
  const outbound = eventType !== 'received' && eventType !== 'rejected';
  let statusCode: number | null = null;
  let statusMessage: string | null = null;
  let bounceType: string | null = null;
  let bounceCategory: string | null = null;
  let bounceMessage: string | null = null;
  if (eventType === 'delivered') {
    statusCode = 250;
    statusMessage = `250 2.0.0 OK ${hex32(u(7))}`;
  } else if (eventType === 'deferred') {
    [statusCode, statusMessage] = pick(DEFERRALS, u(7));
  } else if (eventType === 'bounced') {
    const hard = u(8) < 0.625;
    const [code, cat, msg] = pick(hard ? HARD : SOFT, u(7));
    statusCode = code;
    statusMessage = msg;
    bounceType = hard ? 'hard' : 'soft';
    bounceCategory = cat;
    bounceMessage = msg;
  } else if (eventType === 'rejected') {
    statusCode = 554;
    statusMessage = '554 5.7.1 Spam message rejected';
  }
  // delivery time: log-normal around 400 ms with a long tail (timeouts up to minutes)
  const delivery = outbound && eventType !== 'sent' ? Math.min(86_400_000, Math.round(Math.exp(6 + 1.1 * normal(u(9), u(10))) + (u(11) < 0.01 ? 30_000 * u(12) : 0))) : null;
  const queue = outbound ? Math.round(Math.exp(4 + 1.5 * normal(u(13), u(14))) + (eventType === 'deferred' ? 300_000 : 0)) : null;
  const size = Math.round(Math.min(50e6, Math.exp(10 + 1.2 * normal(u(15), u(16)))));
  const attachments = u(17) < 0.2 ? 1 + Math.floor(u(18) * 3) : 0;
  const spamScore = Math.round((eventType === 'rejected' ? 15 + 10 * u(19) : -2 + 6 * u(19)) * 100) / 100;
  const msgHex = `${hex32(u(20))}${hex32(u(21))}`;
  return {
    timestamp: new Date(time).toISOString(),
    eventId: uuidOf(k, seed),
    eventType,
    messageId: `<${msgHex}@${fromDomain}>`,
    queueId: `${msgHex.slice(0, 13)}${(k % 4096).toString(16).padStart(3, '0')}`,
    fromAddress: `${fromUser}@${fromDomain}`,
    fromUser,
    fromDomain,
    toAddress: `r${Math.floor(u(22) * 100_000)}@${toDomain}`,
    toDomain,
    mtaNode,
    sendingIp: outbound ? SENDING_IPS[ipIndex]! : null,
    sendingIpV6: outbound && u(23) < 0.2 ? `2001:db8::${(ipIndex + 1).toString(16)}` : null,
    mxHost: outbound ? `mx${1 + Math.floor(u(24) * 2)}.${toDomain}` : null,
    statusCode,
    statusMessage,
    deliveryTimeMs: delivery,
    queueTimeMs: queue,
    totalTimeMs: queue === null ? null : queue + (delivery ?? 0),
    bounceType,
    bounceCategory,
    bounceMessage,
    messageSize: size,
    hasAttachment: attachments > 0,
    attachmentCount: attachments,
    subjectHash: `${hex32(u(25))}${hex32(u(26))}`,
    dkimResult: u(27) < 0.95 ? 'pass' : u(27) < 0.98 ? 'none' : 'fail',
    spfResult: u(28) < 0.96 ? 'pass' : u(28) < 0.98 ? 'softfail' : 'fail',
    dmarcResult: u(29) < 0.93 ? 'pass' : u(29) < 0.98 ? 'none' : 'fail',
    spamScore,
    spamAction: eventType === 'rejected' ? 'reject' : spamScore > 3 ? 'add_header' : 'no_action',
    spamSymbols: SYMBOLS.filter((_, i) => u(30 + i) < 0.5),
  };
}

/** Events [from, to) of a data set. */
export function emailEventsRange(s: EmailShape, from: number, to: number): EmailEvent[] {
  const out = new Array<EmailEvent>(to - from);
  for (let k = from; k < to; k++) out[k - from] = emailEventAt(s, k);
  return out;
}

export const firstEventTime = (s: EmailShape) => s.endMs - Math.round((s.events - 1) * s.periodMs);

/** Column order of the COPY statement: the stream's insert order. */
export const EMAIL_COPY_COLUMNS = streamInsertColumns(emailEvents);
const COPY_FIELDS = EMAIL_COPY_COLUMNS.map((c) => (c === 'time' ? 'timestamp' : emailEvents.byName.get(c)!.field));
const COPY_TYPES = EMAIL_COPY_COLUMNS.map((c) => (c === 'time' ? 'timestamptz' : emailEvents.byName.get(c)!.type));
export const EMAIL_COPY_SQL = `COPY ${emailEvents.table} (${EMAIL_COPY_COLUMNS.join(', ')}) FROM STDIN`;

/** PostgreSQL COPY text of events (generated values never contain tabs, newlines or backslashes). */
export function emailCopyText(events: readonly EmailEvent[]): string {
  let out = '';
  for (const e of events) {
    const rec = e as unknown as Record<string, unknown>;
    let line = '';
    for (let i = 0; i < COPY_FIELDS.length; i++) {
      const v = rec[COPY_FIELDS[i]!];
      const t = COPY_TYPES[i];
      const text = v === null || v === undefined ? '\\N' : t === 'jsonb' ? JSON.stringify(v) : t === 'boolean' ? (v ? 't' : 'f') : String(v);
      line += (i ? '\t' : '') + text;
    }
    out += `${line}\n`;
  }
  return out;
}

/** COPY text chunks of `chunkEvents` events for a whole data set, generated on the fly. */
export function* emailCopyChunks(s: EmailShape, chunkEvents = 5000): Generator<Buffer> {
  for (let k = 0; k < s.events; k += chunkEvents) yield Buffer.from(emailCopyText(emailEventsRange(s, k, Math.min(s.events, k + chunkEvents))));
}
