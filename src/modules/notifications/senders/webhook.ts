/**
 * Webhook: POSTs an Alertmanager-webhook-like JSON body and, when the channel has a signing
 * secret, signs it like Stripe and Slack do — `X-Opsdeck-Timestamp: <unix seconds>` and
 * `X-Opsdeck-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>`, so the
 * receiver can check the body and refuse replays of old timestamps (docs/notifications.md).
 */
import { createHmac } from 'node:crypto';
import type { ChannelWithSecrets } from '../channels.ts';
import { noticeAnnotations, noticeLabels, summarize, type NoticeGroup } from '../message.ts';
import { sendHttp, type HttpRequest, type Sender } from './http.ts';

export function webhookPayload(group: NoticeGroup) {
  const s = summarize(group);
  return {
    version: '1',
    receiver: group.receiver,
    status: s.status,
    title: s.title,
    groupKey: group.groupKey,
    groupLabels: group.groupLabels,
    commonLabels: s.commonLabels,
    commonAnnotations: s.commonAnnotations,
    truncatedAlerts: 0,
    alerts: group.notices.map((n) => ({
      status: n.status,
      labels: noticeLabels(n),
      annotations: noticeAnnotations(n),
      startsAt: n.startsAt,
      endsAt: n.endsAt,
      fingerprint: n.fingerprint,
      eventId: n.eventId,
      reason: n.reason,
      ...(n.escalationLevel !== undefined ? { escalationLevel: n.escalationLevel } : {}),
      severity: n.severity,
      message: n.message,
    })),
  };
}

export const signatureOf = (secret: string, timestamp: string, body: string): string => `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;

export function buildWebhookRequest(channel: ChannelWithSecrets, group: NoticeGroup, now: Date): HttpRequest {
  const cfg = channel.config as { url: string; headers?: Record<string, string> };
  const body = JSON.stringify(webhookPayload(group));
  const headers: Record<string, string> = { ...(cfg.headers ?? {}), 'content-type': 'application/json' };
  if (channel.secrets.authorization) headers.authorization = channel.secrets.authorization;
  if (channel.secrets.hmacSecret) {
    const ts = String(Math.floor(now.getTime() / 1000));
    headers['x-opsdeck-timestamp'] = ts;
    headers['x-opsdeck-signature'] = signatureOf(channel.secrets.hmacSecret, ts, body);
  }
  return { url: cfg.url, headers, body };
}

export const sendWebhook: Sender = (channel, group, ctx) => sendHttp(buildWebhookRequest(channel, group, ctx.now), ctx);
