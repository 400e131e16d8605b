/**
 * Email over SMTP with nodemailer: subject `[FIRING:n] alertname …` (Alertmanager's),
 * a text and a simple HTML body. The connection is opened by the outbound rules (the SMTP
 * host is checked and its address pinned like any other target; an admin allow-lists an
 * internal relay) and handed to nodemailer, which does STARTTLS or implicit TLS on it with
 * the configured host name for SNI and certificate checks.
 */
import type { ChannelWithSecrets } from '../channels.ts';
import { noticeLine, noticeLabels, summarize, type NoticeGroup } from '../message.ts';
import { errorOutcome, type Sender } from './http.ts';
import { htmlEscape } from './telegram.ts';

interface EmailConfig {
  host: string;
  port: number;
  secure: boolean;
  requireTls: boolean;
  user: string | null;
  from: string;
  to: string[];
}

export function buildEmail(channel: ChannelWithSecrets, group: NoticeGroup) {
  const cfg = channel.config as unknown as EmailConfig;
  const s = summarize(group);
  const text = [s.title, '', ...group.notices.map(noticeLine), '', `Sent by Opsdeck to the notification channel ${channel.name}.`].join('\n');
  const rows = group.notices
    .map((n) => {
      const labels = Object.entries(noticeLabels(n))
        .map(([k, v]) => `${htmlEscape(k)}=${htmlEscape(v)}`)
        .join(', ');
      const colour = n.status === 'resolved' ? '#2e7d32' : n.severity === 'critical' ? '#c62828' : n.severity === 'warning' ? '#ef6c00' : '#1565c0';
      return `<tr><td style="color:${colour};font-weight:bold">${n.status.toUpperCase()}</td><td>${htmlEscape(n.alertName)}</td><td>${htmlEscape(n.message)}</td><td><code>${labels}</code></td><td>${htmlEscape(n.status === 'resolved' && n.endsAt ? n.endsAt : n.startsAt)}</td></tr>`;
    })
    .join('');
  const html = `<!doctype html><html><body><h2>${htmlEscape(s.title)}</h2><table border="1" cellpadding="4" cellspacing="0"><tr><th>Status</th><th>Alert</th><th>Message</th><th>Labels</th><th>Since / resolved</th></tr>${rows}</table><p>Sent by Opsdeck to the notification channel ${htmlEscape(channel.name)}.</p></body></html>`;
  return { from: cfg.from, to: cfg.to, subject: s.title, text, html };
}

export const sendEmail: Sender = async (channel, group, ctx) => {
  const cfg = channel.config as unknown as EmailConfig;
  // Loaded on the first email: a process that sends none does not hold nodemailer (~1 MB of heap).
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport({
    host: cfg.host,
    port: cfg.port,
    secure: cfg.secure,
    requireTLS: cfg.requireTls,
    ...(cfg.user ? { auth: { user: cfg.user, pass: channel.secrets.password ?? '' } } : {}),
    connectionTimeout: ctx.timeoutMs,
    greetingTimeout: ctx.timeoutMs,
    socketTimeout: ctx.timeoutMs,
    logger: false,
    getSocket: (_opts, cb) => {
      ctx.outbound.connect(cfg.host, cfg.port, { timeoutMs: ctx.timeoutMs }).then(
        (r) => cb(null, { connection: r.socket }),
        (err: unknown) => cb(err as Error),
      );
    },
  });
  try {
    const info = await transport.sendMail(buildEmail(channel, group));
    const code = Number(/^(\d{3})/.exec(String(info.response))?.[1] ?? 250);
    return { ok: true, status: code, retryable: false, detail: String(info.response).slice(0, 500) };
  } catch (err) {
    const code = (err as { responseCode?: number }).responseCode;
    if (typeof code === 'number') {
      // SMTP 4xx is temporary, 5xx permanent.
      return { ok: false, status: code, retryable: code < 500, detail: String((err as Error).message).slice(0, 500) };
    }
    return errorOutcome(err);
  } finally {
    transport.close();
  }
};
