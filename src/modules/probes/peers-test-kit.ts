/**
 * Real peers for the probes tests, started on loopback by the test: an HTTP
 * server, a TCP listener and a closed port, a DNS server over UDP (dns-packet)
 * and a TLS server with a self-signed certificate made by openssl.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import dnsPacket from 'dns-packet';

/** Requests to /hold wait until the test releases them. */
export class HeldRequests {
  private waiters: ((release: () => void) => void)[] = [];
  private pending: (() => void)[] = [];
  /** Resolves with the release function of the next /hold request when it arrives. */
  next(): Promise<() => void> {
    return new Promise((r) => this.waiters.push(r));
  }
  arrive(release: () => void): void {
    this.pending.push(release);
    const w = this.waiters.shift();
    if (w) w(release);
  }
  releaseAll(): void {
    for (const r of this.pending.splice(0)) r();
  }
}

export interface Peers {
  http: { port: number; url(path: string): string; requests: string[]; flap: { status: number }; held: HeldRequests };
  https: { port: number; url(path: string): string };
  /** A second HTTP server on 127.0.0.2 that redirects to 127.0.0.1 (for the redirect refusal). */
  redirector: { port: number; url(path: string): string };
  tcp: { port: number; closedPort: number; connections: number };
  dns: { port: number; queries: number };
  tls: { port: number; validTo: Date; validFrom: Date; connections: number };
  close(): Promise<void>;
}

function listen(server: net.Server, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** A self-signed certificate for localhost valid `days` days from now (openssl req -x509). */
export function selfSignedCertificate(days: number): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'opsdeck-probe-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', String(days), '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startPeers(): Promise<Peers> {
  const requests: string[] = [];
  const flap = { status: 200 };
  const held = new HeldRequests();
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = req.url ?? '/';
    requests.push(url);
    const send = (status: number, body: string, type = 'text/plain') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (url === '/ok') return send(200, 'all systems UP');
    if (url.startsWith('/status/')) return send(Number(url.slice(8)), `status ${url.slice(8)}`);
    if (url === '/json') return send(200, JSON.stringify({ status: 'UP', checks: [{ name: 'db', state: 'ok' }], count: 3 }), 'application/json');
    if (url === '/slow') return void setTimeout(() => send(200, 'slow but fine'), 400);
    if (url === '/flap') return send(flap.status, flap.status === 200 ? 'up' : 'down');
    if (url === '/hold') {
      held.arrive(() => {
        if (!res.headersSent) send(200, 'released');
      });
      return;
    }
    if (url === '/big') return send(200, 'x'.repeat(3 * 1024 * 1024) + 'NEEDLE');
    return send(404, 'not found');
  };
  const httpServer = http.createServer(handler);
  const httpPort = await listen(httpServer);

  const { key, cert } = selfSignedCertificate(30);
  const x = new X509Certificate(cert);
  const httpsServer = https.createServer({ key, cert }, handler);
  const httpsPort = await listen(httpsServer);

  const redirector = http.createServer((req, res) => {
    res.writeHead(302, { location: `http://127.0.0.1:${httpPort}/ok` });
    res.end();
  });
  const redirectorPort = await listen(redirector, '127.0.0.2');

  const tcp = { connections: 0 };
  const tcpServer = net.createServer((s) => {
    tcp.connections++;
    s.end();
  });
  const tcpPort = await listen(tcpServer);
  const closer = net.createServer();
  const closedPort = await listen(closer);
  await new Promise<void>((r) => closer.close(() => r()));

  const dnsState = { queries: 0 };
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    dnsState.queries++;
    const q = dnsPacket.decode(msg);
    const question = q.questions?.[0];
    const answers: dnsPacket.Answer[] = [];
    let rcode = 'NOERROR';
    if (question && question.name.toLowerCase() === 'app.test') {
      if (question.type === 'A') answers.push({ type: 'A', name: 'app.test', ttl: 60, data: '192.0.2.10' }, { type: 'A', name: 'app.test', ttl: 60, data: '192.0.2.11' });
      if (question.type === 'TXT') answers.push({ type: 'TXT', name: 'app.test', ttl: 60, data: ['v=spf1 ', '-all'] });
      if (question.type === 'MX') answers.push({ type: 'MX', name: 'app.test', ttl: 60, data: { preference: 10, exchange: 'mail.app.test' } });
    } else rcode = 'NXDOMAIN';
    const reply = dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (rcode === 'NXDOMAIN' ? 3 : 0),
      questions: q.questions,
      answers,
    });
    udp.send(reply, rinfo.port, rinfo.address);
  });
  const dnsPort = await new Promise<number>((resolve) => udp.bind(0, '127.0.0.1', () => resolve(udp.address().port)));

  const tlsState = { connections: 0 };
  const tlsServer = tls.createServer({ key, cert }, (s) => {
    tlsState.connections++;
    s.end();
  });
  const tlsPort = await listen(tlsServer);

  const closeServer = (s: net.Server) =>
    new Promise<void>((r) => {
      (s as http.Server).closeAllConnections?.();
      s.close(() => r());
    });
  return {
    http: { port: httpPort, url: (p) => `http://127.0.0.1:${httpPort}${p}`, requests, flap, held },
    https: { port: httpsPort, url: (p) => `https://127.0.0.1:${httpsPort}${p}` },
    redirector: { port: redirectorPort, url: (p) => `http://127.0.0.2:${redirectorPort}${p}` },
    tcp: {
      port: tcpPort,
      closedPort,
      get connections() {
        return tcp.connections;
      },
    },
    dns: {
      port: dnsPort,
      get queries() {
        return dnsState.queries;
      },
    },
    tls: {
      port: tlsPort,
      validTo: new Date(x.validTo),
      validFrom: new Date(x.validFrom),
      get connections() {
        return tlsState.connections;
      },
    },
    async close() {
      held.releaseAll();
      await Promise.all([closeServer(httpServer), closeServer(httpsServer), closeServer(redirector), closeServer(tcpServer), closeServer(tlsServer), new Promise<void>((r) => udp.close(() => r()))]);
    },
  };
}
