/**
 * GELF messages of a WildDuck / ZoneMTA / Haraka cluster → email_events events.
 *
 * What the senders really emit (docs/integrations.md, "GELF"):
 * - ZoneMTA with the zonemta-wildduck plugin (its `log:entry` hook, index.js): `_mail_action`
 *   queued / accepted / deferred / bounced (ZoneMTA's REJECTED) / dropped (NOQUEUE, DELETED,
 *   DROP), with `_queue_id`, `_queue_id_seq`, `_from`, `_to`, `_message_id`, `_zone`, `_mx`
 *   (the MX host name), `_mx_host` (the address connected to), `_local_ip` (the sending IP),
 *   `_response` (the SMTP reply), `_bounce_category`, `_bounce_count`; `host` is the node.
 * - Haraka with haraka-plugin-wildduck (the MX): `_mail_action: 'process'` with
 *   `_stored: 'yes'` for a message stored for a recipient (`_to`), and `'deny'` for a
 *   refused recipient; `_queue_id`, `_from`, `_message_id`, `_spam_score`, `_spam_action`.
 * - WildDuck itself logs mailbox work (IMAP commands, quota, forwards, autoreplies): none of
 *   it is a delivery event.
 * Everything else is "not a delivery event": counted and ignored.
 */
import { isIP } from 'node:net';
import { fromPluginEvent } from '../email-events/zonemta-plugin.ts';
import { BOUNCE_CATEGORIES, SPAM_ACTIONS } from '../email-events/stream.ts';

export type Mapped = { kind: 'event'; event: Record<string, unknown> } | { kind: 'ignored' };

const HOST = /^[A-Za-z0-9_.-]{1,253}$/;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : undefined);

/** The email_events type of a GELF message, or undefined for anything that is not a delivery event. */
function eventType(m: Record<string, unknown>): { type: string; bounceType?: 'hard' | 'soft' } | undefined {
  const action = str(m._mail_action)?.toLowerCase();
  const short = str(m.short_message) ?? '';
  switch (action) {
    case 'queued':
      // ZoneMTA's QUEUED; zonemta-wildduck also logs forwards/autoreplies it queued as [QUEUED]
      return { type: 'sent' };
    case 'accepted':
      return { type: 'delivered' };
    case 'deferred':
      return { type: 'deferred', bounceType: 'soft' };
    case 'bounced':
      return { type: 'bounced', bounceType: 'hard' };
    case 'dropped':
      // NOQUEUE: refused while receiving (policy, spam); DELETED and DROP are queue housekeeping
      return short.includes('[NOQUEUE]') ? { type: 'rejected' } : undefined;
    case 'process':
      return m._stored === 'yes' ? { type: 'received' } : undefined;
    case 'deny':
      return { type: 'rejected' };
    default:
      return undefined;
  }
}

/** Maps one decoded GELF message. `now` stands in for a message without a timestamp. */
export function mapGelf(m: Record<string, unknown>, now: number): Mapped {
  const t = eventType(m);
  if (!t) return { kind: 'ignored' };
  const e: Record<string, unknown> = { eventType: t.type };
  const ts = typeof m.timestamp === 'number' ? m.timestamp : typeof m.timestamp === 'string' ? Number(m.timestamp) : NaN;
  e.timestamp = new Date(Number.isFinite(ts) ? Math.round(ts * 1000) : now).toISOString();
  if (typeof m.host === 'string') e.mtaNode = m.host;
  const mid = str(m._message_id);
  if (mid) e.messageId = mid.startsWith('<') ? mid : `<${mid}>`;
  const qid = str(m._queue_id);
  if (qid) e.queueId = str(m._queue_id_seq) ? `${qid}.${str(m._queue_id_seq)}` : qid;
  const from = str(m._from);
  if (from) e.fromAddress = from;
  // QUEUED lists every recipient of the message; a delivery names one
  const to = str(m._to);
  if (to && !to.includes(',') && !to.includes('\n')) e.toAddress = to;
  const mx = str(m._mx)?.toLowerCase();
  if (mx && HOST.test(mx)) e.mxHost = mx;
  const ip = str(m._local_ip);
  if (ip && isIP(ip)) e.sendingIp = ip;
  const response = str(m._response);
  if (response) {
    e.statusMessage = response.slice(0, 2000);
    const code = /^([2-5][0-9]{2})\b/.exec(response);
    if (code) e.statusCode = Number(code[1]);
  }
  if (t.bounceType) e.bounceType = t.bounceType;
  const category = str(m._bounce_category);
  if (category && (t.type === 'bounced' || t.type === 'deferred')) e.bounceCategory = category;
  const score = typeof m._spam_score === 'number' ? m._spam_score : Number(str(m._spam_score) ?? NaN);
  if (Number.isFinite(score)) e.spamScore = score;
  const action = str(m._spam_action)?.toLowerCase().replace(/ /g, '_');
  if (action && (SPAM_ACTIONS as readonly string[]).includes(action)) e.spamAction = action;
  // from_user / from_domain / to_domain from the addresses, ZoneMTA's bounce categories → Opsdeck's
  const out = fromPluginEvent(e).event as Record<string, unknown>;
  if (typeof out.bounceCategory === 'string' && !(BOUNCE_CATEGORIES as readonly string[]).includes(out.bounceCategory)) out.bounceCategory = 'other';
  return { kind: 'event', event: out };
}
