/**
 * Request logging (ADR 0032).
 *
 * - One line per request, when it completes, at `debug` (method, URL, status, time), instead of
 *   Fastify's two lines at `info`. A monitor ingesting thousands of requests a second must not
 *   write two log lines for each at its default level: measured, that cost the single-row ingest
 *   load about a third of its throughput. Server errors are still logged by the error handler
 *   (`src/http/app.ts`), and every request is counted in the HTTP metrics.
 * - Each request's logger (`req.log`, bound to its request id) is made on its first use. Most
 *   requests never log at the default level, and making a child logger costs several µs per request
 *   (pino passes its bindings through the redaction of credential fields).
 */
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString, LogFn, Logger } from 'pino';

/** Fastify's request lines, one per request at `debug`; errors that end a request keep Fastify's `error` line. */
export class RequestLogController extends LogController {
  private readonly debug: boolean;

  constructor(root: Logger) {
    super({});
    this.debug = root.isLevelEnabled('debug');
  }

  override incomingRequest(): void {
    // One line per request, written when it completes.
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) return super.requestCompleted(error, request, reply);
    if (this.debug) reply.log.debug({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/** A request's logger, made from its parent on the first call that writes (or asks for its child). */
export class LazyChildLogger implements FastifyBaseLogger {
  private made: Logger | null = null;
  declare fatal: LogFn;
  declare error: LogFn;
  declare warn: LogFn;
  declare info: LogFn;
  declare debug: LogFn;
  declare trace: LogFn;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  /** The real child logger (made once). */
  get logger(): Logger {
    return (this.made ??= this.parent.child(this.bindings, this.options));
  }

  get level(): LevelWithSilentOrString {
    return this.made ? this.made.level : (this.options.level ?? this.parent.level);
  }

  set level(level: LevelWithSilentOrString) {
    this.logger.level = level;
  }

  isLevelEnabled(level: string): boolean {
    return this.made || this.options.level !== undefined ? this.logger.isLevelEnabled(level) : this.parent.isLevelEnabled(level);
  }

  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.logger.child(bindings, options) as unknown as FastifyBaseLogger;
  }
}

for (const level of LEVELS) {
  // A call below the level writes nothing and makes no child.
  Object.defineProperty(LazyChildLogger.prototype, level, {
    value: function (this: LazyChildLogger, ...args: Parameters<LogFn>) {
      if (!this.isLevelEnabled(level)) return;
      const l = this.logger;
      (l[level] as (...a: unknown[]) => void).apply(l, args);
    },
    writable: true,
    configurable: true,
  });
}

/** Fastify's childLoggerFactory: each request's logger made on first use. */
export function lazyChildLoggerFactory(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyChildLogger(logger as unknown as Logger, bindings, options);
}
