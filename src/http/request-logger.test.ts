import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { loadConfig, type Config } from '../config.ts';
import { createLogger, createRuntime, type Runtime } from '../runtime.ts';
import { enabledBackends, openDatabase } from '../../test/support/backends.ts';
import { TEST_ADMIN_PASSWORD } from '../../test/support/app.ts';
import { loginAs } from '../../test/support/auth.ts';
import { lazyChildLoggerFactory, RequestLogController } from './request-logger.ts';

type Line = Record<string, unknown> & { msg?: string; level: number };

function capture(level: Config['logLevel']) {
  const lines: Line[] = [];
  const logger = createLogger({ logLevel: level }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(...c.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line)), cb()) }));
  return { lines, logger };
}

describe('request loggers made on first use', () => {
  test('a request that logs nothing makes no child logger; one that logs gets its request id and the credential censor', async () => {
    const { lines, logger } = capture('info');
    let children = 0;
    const child = logger.child.bind(logger);
    logger.child = ((...a: Parameters<typeof child>) => (children++, child(...a))) as typeof logger.child;
    const app = Fastify({ loggerInstance: logger as unknown as FastifyBaseLogger, logController: new RequestLogController(logger), childLoggerFactory: lazyChildLoggerFactory, genReqId: () => 'req-42' });
    app.get('/quiet', async (req) => {
      req.log.debug('below the level: writes nothing');
      const log = req.log as unknown as { isLevelEnabled(level: string): boolean };
      return { ok: log.isLevelEnabled('info') && !log.isLevelEnabled('debug') };
    });
    app.get('/loud', async (req) => {
      req.log.warn({ password: 'hunter2', detail: { token: 'abc' } }, 'a warning');
      return { ok: true };
    });
    await app.ready();
    children = 0;

    const quiet = await app.inject({ url: '/quiet' });
    assert.deepEqual(quiet.json(), { ok: true }, 'the request logger answers for its level without being made');
    assert.equal(children, 0, 'no child logger for a request that wrote nothing');
    assert.equal(lines.length, 0, JSON.stringify(lines));

    await app.inject({ url: '/loud' });
    assert.equal(children, 1);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    const [line] = lines;
    assert.equal(line!.msg, 'a warning');
    assert.equal(line!.level, 40);
    assert.equal(line!.reqId, 'req-42');
    assert.equal(line!.password, '[redacted]');
    assert.deepEqual(line!.detail, { token: '[redacted]' });
    await app.close();
  });

  test('a route log level applies to its request logger', async () => {
    const { lines, logger } = capture('warn');
    const app = Fastify({ loggerInstance: logger as unknown as FastifyBaseLogger, logController: new RequestLogController(logger), childLoggerFactory: lazyChildLoggerFactory });
    app.get('/chatty', { logLevel: 'debug' }, async (req) => {
      req.log.debug('route-level debug');
      return {};
    });
    await app.ready();
    await app.inject({ url: '/chatty' });
    assert.deepEqual(lines.map((l) => l.msg), ['route-level debug']);
    await app.close();
  });
});

const backend = enabledBackends()[0];
for (const level of ['info', 'debug'] as const) {
  describe(`Opsdeck request lines at LOG_LEVEL=${level} [${backend}]`, () => {
    let rt: Runtime;
    let close: () => Promise<void>;
    let lines: Line[];
    before(async () => {
      const t = await openDatabase(backend!);
      const config = loadConfig({}, { logLevel: level, selfMonitor: false, jobs: false, adminPassword: TEST_ADMIN_PASSWORD, jwtSecret: 'test-jwt-secret-0123456789abcdef0123456789', secretKey: 'test-secret-key-0123456789abcdef0123456789' });
      const c = capture(level);
      lines = c.lines;
      rt = await createRuntime(config, { db: t.db, logger: c.logger });
      await rt.auth.seed();
      await rt.app.ready();
      close = async () => {
        await rt.close();
        await t.close();
      };
    });
    after(() => close());

    test(level === 'info' ? 'no line per request at the default level' : 'one line per request, when it completes, with method, URL, status and time', async () => {
      const viewer = await loginAs(rt, 'viewer');
      lines.length = 0;
      const answers = [
        await rt.app.inject({ url: '/health' }),
        await rt.app.inject({ url: '/api/v1/nodes', headers: { authorization: viewer } }),
        await rt.app.inject({ url: '/api/v1/nodes' }),
        await rt.app.inject({ url: '/api/v1/no-such-route' }),
      ];
      assert.deepEqual(answers.map((a) => a.statusCode), [200, 200, 401, 404]);
      const requestLines = lines.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed');
      if (level === 'info') {
        assert.deepEqual(requestLines, []);
        return;
      }
      assert.deepEqual(
        requestLines.map((l) => [l.msg, l.level, (l.req as { method: string }).method, (l.req as { url: string }).url, (l.res as { statusCode: number }).statusCode]),
        [
          ['request completed', 20, 'GET', '/health', 200],
          ['request completed', 20, 'GET', '/api/v1/nodes', 200],
          ['request completed', 20, 'GET', '/api/v1/nodes', 401],
          ['request completed', 20, 'GET', '/api/v1/no-such-route', 404],
        ],
      );
      for (const l of requestLines) {
        assert.equal(typeof l.responseTime, 'number');
        assert.match(String(l.reqId), /^[0-9a-f-]{36}$/);
        assert.equal((l.req as { headers?: unknown }).headers, undefined, 'no headers (no credentials) in request lines');
      }
    });
  });
}
