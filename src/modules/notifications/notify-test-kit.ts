/**
 * Real peers for the notification tests, on 127.0.0.1: an HTTP sink that records every request
 * and answers what the test tells it to, and notice builders.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AlertNotice } from '../alerts/contracts.ts';

export interface SinkRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpSink {
  url: string;
  port: number;
  requests: SinkRequest[];
  /** Answers of the next requests, in order; after them `fallback`. */
  answers: { status: number; body?: string; headers?: Record<string, string> }[];
  fallback: { status: number; body?: string; headers?: Record<string, string> };
  /** Wait this long before answering (ms), so concurrent senders overlap. */
  delayMs: number;
  /** When set, answers wait for it (a test holds a request in flight). */
  gate: Promise<void> | null;
  /** Resolves when the next request has arrived (its body read). */
  nextRequest(): Promise<SinkRequest>;
  close(): Promise<void>;
}

export async function startSink(fallback: { status: number; body?: string } = { status: 200, body: 'ok' }): Promise<HttpSink> {
  const sink: Partial<HttpSink> & { requests: SinkRequest[]; answers: HttpSink['answers']; fallback: HttpSink['fallback']; delayMs: number } = { requests: [], answers: [], fallback, delayMs: 0, gate: null };
  const arrivals: ((r: SinkRequest) => void)[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const got: SinkRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      sink.requests.push(got);
      for (const w of arrivals.splice(0)) w(got);
      const a = sink.answers.shift() ?? sink.fallback;
      const answer = () =>
        setTimeout(() => {
          res.writeHead(a.status, { 'content-type': a.body?.startsWith('{') ? 'application/json' : 'text/plain', ...(a as { headers?: Record<string, string> }).headers });
          res.end(a.body ?? '');
        }, sink.delayMs);
      if (sink.gate) void sink.gate.then(answer);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  sink.port = port;
  sink.url = `http://127.0.0.1:${port}`;
  sink.nextRequest = () => new Promise<SinkRequest>((r) => arrivals.push(r));
  sink.close = () => new Promise<void>((r) => server.close(() => r()));
  return sink as HttpSink;
}

let nextEventId = 1000;

export function notice(overrides: Partial<AlertNotice> = {}): AlertNotice {
  const eventId = overrides.eventId ?? nextEventId++;
  const alertName = overrides.alertName ?? 'HighCpu';
  const severity = overrides.severity ?? 'critical';
  return {
    eventId,
    fingerprint: overrides.fingerprint ?? `fp-${eventId}`,
    status: 'firing',
    reason: 'fired',
    alertName,
    severity,
    message: 'CPU above 90% for 5 minutes',
    labels: { alertname: alertName, severity, node: 'mx1' },
    details: { value: 97.5 },
    startsAt: new Date('2026-01-01T00:00:00Z'),
    endsAt: null,
    ruleId: 7,
    nodeId: 'mx1',
    serviceName: null,
    ...overrides,
  };
}
