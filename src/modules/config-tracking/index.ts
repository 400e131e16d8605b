/**
 * The configuration-tracking module as src/runtime.ts wires it: the sink
 * home-lab collection hands files to, the routes, and the observer of the
 * `config_change` alert condition.
 */
import type { RouteModule } from '../../http/app.ts';
import type { ConditionObserver } from '../alerts/contracts.ts';
import type { ConfigFileSink } from './contracts.ts';
import { configChangeObserver } from './observer.ts';
import { configTrackingRoutes } from './routes.ts';
import { ConfigTracker } from './service.ts';

export interface ConfigTrackingModule {
  /** Give it to the home-lab collector (and the push API): every collected configuration file goes through it. */
  sink: ConfigFileSink;
  routes: RouteModule;
  /** For createAlertsModule({ observers: { config_change: … } }). */
  observer: ConditionObserver;
}

export function createConfigTrackingModule(): ConfigTrackingModule {
  return { sink: new ConfigTracker(), routes: configTrackingRoutes, observer: configChangeObserver };
}
