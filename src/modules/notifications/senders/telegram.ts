/**
 * Telegram Bot API `sendMessage` (POST <api>/bot<token>/sendMessage, JSON): HTML parse mode
 * with every text escaped (&, <, >), cut to Telegram's 4096 characters. Telegram answers
 * `{"ok":true,…}` or `{"ok":false,"error_code":…,"description":…}`; 429 carries
 * `parameters.retry_after`.
 */
import type { ChannelWithSecrets } from '../channels.ts';
import { noticeLabels, summarize, type NoticeGroup } from '../message.ts';
import { httpOutcome, sendHttp, type HttpRequest, type Sender } from './http.ts';

export const TELEGRAM_MAX_TEXT = 4096;

export const htmlEscape = (s: string): string => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

export function telegramText(group: NoticeGroup): string {
  const s = summarize(group);
  const lines = [`<b>${htmlEscape(s.title)}</b>`];
  for (const n of group.notices) {
    const labels = Object.entries(noticeLabels(n))
      .filter(([k]) => k !== 'alertname')
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    lines.push('', `${n.status === 'firing' ? '🔥' : '✅'} <b>${htmlEscape(n.alertName)}</b> <code>${htmlEscape(labels)}</code>`, htmlEscape(n.message));
  }
  let text = lines.join('\n');
  if (text.length > TELEGRAM_MAX_TEXT) {
    // Cut at a line break so no HTML tag is left open.
    const cut = text.lastIndexOf('\n', TELEGRAM_MAX_TEXT - 2);
    text = `${text.slice(0, cut > 0 ? cut : 0)}\n…`;
  }
  return text;
}

export function buildTelegramRequest(channel: ChannelWithSecrets, group: NoticeGroup): HttpRequest {
  const cfg = channel.config as { chatId: string | number; apiBaseUrl: string };
  const base = cfg.apiBaseUrl.replace(/\/+$/, '');
  return {
    url: `${base}/bot${channel.secrets.botToken}/sendMessage`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ chat_id: cfg.chatId, text: telegramText(group), parse_mode: 'HTML', disable_web_page_preview: true }),
  };
}

export const sendTelegram: Sender = (channel, group, ctx) =>
  sendHttp(buildTelegramRequest(channel, group), ctx, (r) => {
    const o = httpOutcome(r);
    try {
      const j = JSON.parse(r.body.toString('utf8')) as { ok?: boolean; description?: string; parameters?: { retry_after?: number } };
      if (o.ok && j.ok !== true) return { ...o, ok: false, retryable: false, detail: j.description ?? o.detail };
      const wait = j.parameters?.retry_after;
      if (!o.ok && typeof wait === 'number' && wait >= 0) return { ...o, detail: j.description ?? o.detail, retryAfterMs: Math.min(wait, 86_400) * 1000 };
      if (!o.ok && j.description) return { ...o, detail: j.description };
    } catch {
      // Not JSON: keep what HTTP said.
    }
    return o;
  });
