/**
 * The seam between home-lab collection (src/modules/homelab: reads files over
 * SSH/SFTP or takes them from the push API) and configuration tracking (this
 * module: snapshots, diffs, change events, risk). The collector hands every
 * configuration file it read to a `ConfigFileSink`; this module decides whether
 * it changed, stores a snapshot and a change event when it did, and nothing when
 * it did not. src/runtime.ts wires the two.
 */
import type { Queryable } from '../../db/database.ts';

export interface CollectedConfigFile {
  /** The device (nodes.id). */
  nodeId: string;
  /** Absolute path on the device, as the admin listed it. */
  filePath: string;
  /** The file's bytes as read (UTF-8 text expected; the sink refuses binary). Secrets are masked by the sink before storing. */
  content: Buffer;
  /** mtime reported by the device, when known. */
  fileModifiedTime: Date | null;
  /** When the collector read it. */
  collectedAt: Date;
  /** How it arrived: 'ssh' (collector) or 'push' (ingest API). */
  collectionSource: 'ssh' | 'push';
  /** The collection operation (data_collection_audit.operation_id) it belongs to. */
  operationId: string;
}

export interface ConfigRecordResult {
  /** 'created' (first snapshot of the file), 'modified', or 'unchanged' (nothing stored). */
  changeType: 'created' | 'modified' | 'unchanged';
  snapshotId: string | null;
  changeEventId: string | null;
}

export interface ConfigFileSink {
  /** Records one collected file inside `tx` (the collector's short write transaction). */
  record(tx: Queryable, file: CollectedConfigFile): Promise<ConfigRecordResult>;
}
