/**
 * Slack incoming webhook: one message per group — a plain `text` (notifications and clients
 * without attachments) and an attachment coloured by severity holding mrkdwn blocks. Slack
 * answers 200 `ok`, or 4xx with a reason such as `invalid_payload` or `channel_is_archived`.
 */
import type { ChannelWithSecrets } from '../channels.ts';
import { noticeLabels, summarize, type NoticeGroup, type StoredNotice } from '../message.ts';
import { sendHttp, type HttpRequest, type Sender } from './http.ts';
import type { AlertSeverity } from '../../alerts/contracts.ts';

/** Attachment colours: resolved green, otherwise by severity. */
export const SLACK_COLOURS: Record<AlertSeverity | 'resolved', string> = { critical: '#E01E5A', warning: '#ECB22E', info: '#36C5F0', resolved: '#2EB67D' };

/** Slack's mrkdwn needs &, < and > escaped. */
export const slackEscape = (s: string): string => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

function noticeText(n: StoredNotice): string {
  const labels = Object.entries(noticeLabels(n))
    .filter(([k]) => k !== 'alertname')
    .map(([k, v]) => `\`${slackEscape(k)}=${slackEscape(v)}\``)
    .join(' ');
  return `*${n.status === 'firing' ? 'FIRING' : 'RESOLVED'}* ${slackEscape(n.alertName)} ${labels}\n${slackEscape(n.message)}`;
}

export function slackPayload(group: NoticeGroup) {
  const s = summarize(group);
  const colour = s.status === 'resolved' ? SLACK_COLOURS.resolved : SLACK_COLOURS[s.severity];
  const shown = group.notices.slice(0, 20);
  const more = group.notices.length - shown.length;
  return {
    text: slackEscape(s.title),
    attachments: [
      {
        color: colour,
        fallback: slackEscape(s.title),
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: s.title.slice(0, 150) } },
          ...shown.map((n) => ({ type: 'section', text: { type: 'mrkdwn', text: noticeText(n).slice(0, 3000) } })),
          ...(more > 0 ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `… and ${more} more` }] }] : []),
        ],
      },
    ],
  };
}

export function buildSlackRequest(channel: ChannelWithSecrets, group: NoticeGroup): HttpRequest {
  return { url: channel.secrets.webhookUrl!, headers: { 'content-type': 'application/json' }, body: JSON.stringify(slackPayload(group)) };
}

export const sendSlack: Sender = (channel, group, ctx) => sendHttp(buildSlackRequest(channel, group), ctx);
