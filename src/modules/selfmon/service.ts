/** Records the host Opsdeck runs on as a node: one `system` row per interval, read from the OS. */
import type { Logger } from 'pino';
import type { TimeseriesStore } from '../../timeseries/store.ts';
import { SystemCollector } from './collector.ts';

export interface SelfMonitor {
  stop(): Promise<void>;
}

export function startSelfMonitor(opts: { store: TimeseriesStore; nodeId: string; intervalMs: number; logger?: Logger | undefined; diskPath?: string }): SelfMonitor {
  const collector = new SystemCollector({ nodeId: opts.nodeId, nodeRole: 'opsdeck', ...(opts.diskPath ? { diskPath: opts.diskPath } : {}) });
  let current: Promise<void> = Promise.resolve();
  const tick = () => {
    current = (async () => {
      try {
        const row = await collector.collect();
        await opts.store.ingest('system', [row]);
      } catch (err) {
        opts.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'self-monitoring sample not stored');
      }
    })();
  };
  tick();
  const timer = setInterval(tick, opts.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await current;
    },
  };
}
