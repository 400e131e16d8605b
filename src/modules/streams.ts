/**
 * Every event stream Opsdeck knows. Adding a stream = declare it in its module
 * (`defineStream`), list it here, generate its migration
 * (`node --import tsx scripts/gen-migration.ts <table>`). The stream-consistency
 * test then compares the declaration with the migrated database on every backend.
 */
import { emailEvents } from './email-events/stream.ts';
import { mongodbEvents } from './mongodb/events-stream.ts';
import { collectionAudit, containerSnapshots, deviceIo, driveHealth } from './homelab/streams.ts';
import { blacklistChecks } from './dnsbl/stream.ts';
import type { Stream } from '../timeseries/stream.ts';

export const STREAMS: readonly Stream[] = [emailEvents, mongodbEvents, containerSnapshots, driveHealth, collectionAudit, blacklistChecks, deviceIo];

export function findStream(nameOrKey: string): Stream | undefined {
  return STREAMS.find((s) => s.key === nameOrKey || s.table === nameOrKey);
}
