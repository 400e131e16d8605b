/** What every sender shares: its signature, the outcome of a send, and how an HTTP answer or an error becomes one. */
import { OutboundFailedError, OutboundRefusedError, type FetchResult, type Outbound } from '../../../net/outbound.ts';
import type { ChannelWithSecrets } from '../channels.ts';
import type { NoticeGroup } from '../message.ts';

export interface SendContext {
  outbound: Outbound;
  now: Date;
  /** Longest time one send may take. */
  timeoutMs: number;
}

export interface SendOutcome {
  ok: boolean;
  /** The peer's HTTP status (SMTP reply code for email), null when none came. */
  status: number | null;
  /** Whether trying again later may succeed (network trouble, 408, 429, 5xx). */
  retryable: boolean;
  /** What the peer said, or what went wrong (at most 500 characters, secrets removed). */
  detail: string;
  /** The peer asked to wait this long before trying again (HTTP Retry-After, Telegram's retry_after), ms. */
  retryAfterMs?: number;
}

export type Sender = (channel: ChannelWithSecrets, group: NoticeGroup, ctx: SendContext) => Promise<SendOutcome>;

/** An HTTP request a sender builds (pure), sent by `sendHttp`. */
export interface HttpRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

const clip = (s: string) => (s.length > 500 ? `${s.slice(0, 497)}...` : s);

/** Retry-After in seconds (an HTTP date is not honoured), at most a day; undefined when absent or not a number. */
export function retryAfterMs(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v || !/^\s*[0-9]{1,9}\s*$/.test(v)) return undefined;
  return Math.min(Number(v), 86_400) * 1000;
}

export function httpOutcome(r: Pick<FetchResult, 'status' | 'body' | 'headers'>): SendOutcome {
  const ok = r.status >= 200 && r.status < 300;
  const retryable = !ok && (r.status === 408 || r.status === 425 || r.status === 429 || r.status >= 500);
  const after = retryable ? retryAfterMs(r.headers['retry-after']) : undefined;
  return { ok, status: r.status, retryable, detail: clip(r.body.toString('utf8').trim() || `HTTP ${r.status}`), ...(after !== undefined ? { retryAfterMs: after } : {}) };
}

export function errorOutcome(err: unknown): SendOutcome {
  if (err instanceof OutboundRefusedError) return { ok: false, status: null, retryable: false, detail: clip(err.message) };
  if (err instanceof OutboundFailedError) return { ok: false, status: null, retryable: true, detail: clip(`${err.code}: ${err.message}`) };
  return { ok: false, status: null, retryable: true, detail: clip(err instanceof Error ? err.message : String(err)) };
}

export async function sendHttp(req: HttpRequest, ctx: SendContext, judge: (r: FetchResult) => SendOutcome = httpOutcome): Promise<SendOutcome> {
  try {
    const r = await ctx.outbound.fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, timeoutMs: ctx.timeoutMs, maxBodyBytes: 16 * 1024, maxRedirects: 0 });
    return judge(r);
  } catch (err) {
    return errorOutcome(err);
  }
}
