/**
 * Message trace (`/mail/trace`, `/mail/trace/:messageId`): every event of one Message-ID
 * across nodes, oldest first, with the remote servers' replies. The window is the shell's
 * range, widened to the 7 days before its end (the API's default) and at most 31 days.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../api.ts';
import { useData } from '../../data.ts';
import { formatNumber, formatTime } from '../../format.ts';
import { Link } from '../../link.tsx';
import { navigate } from '../../router.ts';
import type { PageProps } from '../index.ts';
import type { TraceEvent } from '../../../../src/modules/mail-analytics/service.ts';
import { errorsOf, Field, useSubmit, type FieldErrors } from '../../components/form.tsx';
import { MailNav, qs } from './common.tsx';

interface TraceAnswer {
  messageId: string;
  from: string;
  to: string;
  nodes: string[];
  events: TraceEvent[];
  truncated: boolean;
}

/** The API's rule: `<left@right>`, no blanks, no further angle brackets or @. */
export const MESSAGE_ID = /^<[^<>\s@]{1,900}@[^<>\s@]{1,253}>$/;
const DAY = 86_400_000;

/** The SMTP reply: its text, with the code in front unless the text starts with it. */
function replyText(e: TraceEvent): string {
  const msg = e.statusMessage ?? '';
  if (e.statusCode === null) return msg;
  return msg.startsWith(String(e.statusCode)) ? msg : `${e.statusCode} ${msg}`.trim();
}

export function TracePage({ time, params }: PageProps) {
  const messageId = params.messageId ?? '';
  const [input, setInput] = useState(messageId);
  useEffect(() => setInput(messageId), [messageId]);
  const to = time.to;
  const from = new Date(Math.max(to.getTime() - 31 * DAY, Math.min(time.from.getTime(), to.getTime() - 7 * DAY)));
  const trace = useData(
    (signal) => (messageId ? api<TraceAnswer>(`/api/v1/email/trace/${encodeURIComponent(messageId)}?${qs({ from, to })}`, { signal }) : Promise.resolve(null)),
    [messageId, Math.floor(to.getTime() / 60_000)],
  );
  const apiError = errorsOf(trace.problem).messageId;
  // A Message-ID pasted without its angle brackets gets them.
  const wanted = () => {
    const v = input.trim();
    return v && !v.startsWith('<') && !v.endsWith('>') && MESSAGE_ID.test(`<${v}>`) ? `<${v}>` : v;
  };
  const form = useSubmit({
    check: (): FieldErrors => (MESSAGE_ID.test(wanted()) ? {} : { messageId: 'a Message-ID with its angle brackets: <left@right>, without blanks' }),
    send: () => navigate(`/mail/trace/${encodeURIComponent(wanted())}`),
  });
  const error = form.errors.messageId ?? apiError;
  const t = trace.data;
  const events = t?.events ?? [];
  return (
    <section class="page mail trace">
      <h1>Message trace</h1>
      <MailNav current="trace" />
      <form class="mail-filters" noValidate onSubmit={form.onSubmit}>
        <Field class="mail-field" label="Message-ID" path="messageId" errors={error ? { messageId: error } : {}}>
          <input name="messageId" class="wide" placeholder="<abc+1@shop.example>" value={input} aria-invalid={error ? 'true' : undefined} onInput={(e) => setInput((e.target as HTMLInputElement).value)} />
        </Field>
        <div class="mail-filter-actions"><button type="submit" class="primary">Trace</button></div>
      </form>
      {!messageId && <p class="hint">Paste the Message-ID header of a message (with its angle brackets). Every event Opsdeck holds for it is listed across nodes: queued, each deferral with the remote server's reply, the delivery or bounce, the reception on the MX. Events carry a Message-ID when the sender sends <code>messageId</code> (the ZoneMTA plugin does).</p>}
      {trace.error && !apiError && <p class="error">{trace.error}</p>}
      {t && (
        <>
          <p class="hint" data-summary>
            {events.length === 0 ? `No event of ${t.messageId} between ${formatTime(t.from, time.tz)} and ${formatTime(t.to, time.tz)}. Choose a longer range above (up to 31 days).` : `${events.length} events on ${t.nodes.length} node(s) (${t.nodes.join(', ')}) between ${formatTime(t.from, time.tz)} and ${formatTime(t.to, time.tz)}.`}
            {t.truncated ? ' Only the first 1,000 are shown.' : ''}
          </p>
          <ol class="trace-events">
            {events.map((e, i) => (
              <li class={`trace-event ev-${e.eventType}`} data-event-type={e.eventType} data-index={String(i)}>
                <div class="trace-head">
                  <time>{formatTime(e.timestamp, time.tz)}</time>
                  <span class={`badge ev-${e.eventType}`}>{e.eventType}</span>
                  {e.mtaNode && <Link href={`/nodes/${encodeURIComponent(e.mtaNode)}`}>{e.mtaNode}</Link>}
                  {e.queueId && <span class="hint">queue {e.queueId}</span>}
                </div>
                <dl class="trace-facts">
                  {e.fromAddress && <><dt>From</dt><dd class="from">{e.fromAddress}</dd></>}
                  {e.toAddress && <><dt>To</dt><dd class="to">{e.toAddress}</dd></>}
                  {e.sendingIp && <><dt>Sending IP</dt><dd><Link href={`/mail/ips/${encodeURIComponent(e.sendingIp)}`}>{e.sendingIp}</Link></dd></>}
                  {e.mxHost && <><dt>MX host</dt><dd>{e.mxHost}</dd></>}
                  {(e.statusCode !== null || e.statusMessage) && <><dt>Reply</dt><dd class="reply">{replyText(e)}</dd></>}
                  {(e.bounceType || e.bounceCategory) && <><dt>Bounce</dt><dd>{[e.bounceType, e.bounceCategory].filter(Boolean).join(', ')}</dd></>}
                  {e.bounceMessage && <><dt>Bounce message</dt><dd class="bounce-message">{e.bounceMessage}</dd></>}
                  {e.deliveryTimeMs !== null && <><dt>Delivery time</dt><dd>{formatNumber(e.deliveryTimeMs)} ms</dd></>}
                </dl>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
