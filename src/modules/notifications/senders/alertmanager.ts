/**
 * Alertmanager: POSTs the group's alerts to <url>/api/v2/alerts as Alertmanager's API takes
 * them (labels, annotations, startsAt, endsAt for resolved ones, generatorURL when Opsdeck
 * knows its public URL), so teams that route with Alertmanager keep their routing, silences
 * and inhibitions. A firing alert has no endsAt: Alertmanager then resolves it by itself once
 * its resolve_timeout passes without a re-post, so the delivery job posts firing alerts again
 * every `repostIntervalSeconds` until they resolve (delivery.ts).
 */
import type { ChannelWithSecrets } from '../channels.ts';
import { noticeAnnotations, noticeLabels, type NoticeGroup, type StoredNotice } from '../message.ts';
import { sendHttp, type HttpRequest, type Sender } from './http.ts';

/** Alertmanager label names: [a-zA-Z_][a-zA-Z0-9_]*; other characters become `_`; empty values are dropped (Alertmanager ignores them). */
function amLabels(n: StoredNotice): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(noticeLabels(n))) {
    if (v === '') continue;
    let name = k.replace(/[^a-zA-Z0-9_]/g, '_');
    if (!/^[a-zA-Z_]/.test(name)) name = `_${name}`;
    out[name] = v;
  }
  return out;
}

export function alertmanagerAlerts(notices: readonly StoredNotice[], now: Date, generatorURL?: string) {
  return notices.map((n) => ({
    labels: amLabels(n),
    annotations: noticeAnnotations(n),
    startsAt: n.startsAt,
    ...(n.status === 'resolved' ? { endsAt: n.endsAt ?? now.toISOString() } : {}),
    ...(generatorURL ? { generatorURL } : {}),
  }));
}

export function buildAlertmanagerRequest(channel: ChannelWithSecrets, notices: readonly StoredNotice[], now: Date): HttpRequest {
  const cfg = channel.config as { url: string; username?: string | null };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (cfg.username) headers.authorization = `Basic ${Buffer.from(`${cfg.username}:${channel.secrets.password ?? ''}`).toString('base64')}`;
  return { url: `${cfg.url.replace(/\/+$/, '')}/api/v2/alerts`, headers, body: JSON.stringify(alertmanagerAlerts(notices, now)) };
}

export const sendAlertmanager: Sender = (channel, group: NoticeGroup, ctx) => sendHttp(buildAlertmanagerRequest(channel, group.notices, ctx.now), ctx);
