/**
 * A throwaway PostgreSQL server for the tests, the benchmark and the fault suite
 * (which stops and restarts it), started by the same launcher as Opsdeck's
 * embedded default (src/db/embedded-postgres.ts): same binaries, same watchdog,
 * same run-as rule under root. Test-only differences: it also listens on
 * 127.0.0.1:<port> with trusted connections (its URL is passed around, e.g. as
 * DATABASE_URL to a spawned `opsdeck serve`), fsync is off, and it accepts 300
 * connections.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface PgServer {
  url: string;
  port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startPgServer(options: { postgresFlags?: string[] } = {}): Promise<PgServer> {
  const port = await freePort();
  // The data folder (lock, note) and, as root, the cluster's home: a folder `nobody` can reach.
  const dataDir = mkdtempSync(join(tmpdir(), 'opsdeck-pg-'));
  const rootClusterHome = `${dataDir}-cluster`;
  const settings: Record<string, string> = { fsync: 'off', max_connections: '300' };
  const flags = options.postgresFlags ?? [];
  for (let i = 0; i + 1 < flags.length; i += 2) {
    if (flags[i] !== '-c') throw new Error(`startPgServer: only "-c name=value" flags are supported, not ${flags[i]}`);
    const [k, ...v] = flags[i + 1]!.split('=');
    settings[k!] = v.join('=');
  }
  const server = await startEmbeddedPostgres({ dataDir, rootClusterHome, tcpPort: port, settings, initdbFlags: ['--no-sync', '--auth-host=trust'] });
  let running = true;
  return {
    url: server.url,
    port,
    async start() {
      if (!running) await server.start();
      running = true;
    },
    async stop() {
      if (running) await server.stop();
      running = false;
    },
    async destroy() {
      await server.close();
      running = false;
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(rootClusterHome, { recursive: true, force: true });
      rmSync(join(dataDir, 'postgres'), { recursive: true, force: true });
    },
  };
}
