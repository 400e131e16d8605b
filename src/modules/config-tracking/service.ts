/**
 * Configuration tracking: the sink the home-lab collector hands every
 * configuration file to (ConfigFileSink), and the reads of the API —
 * history per device and file, any two snapshots diffed, change events,
 * and the change-frequency analysis (docs/config-tracking.md, ADR 0023).
 *
 * The sink masks secrets first and hashes the masked content; nothing
 * unmasked is stored or logged. Per node and file it takes a
 * transaction-scoped advisory lock before reading the latest snapshot, so two
 * collections of the same file at once store one snapshot of a content (the
 * second sees the first's row and answers 'unchanged').
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '../../db/database.ts';
import { InvalidError, NotFoundError, TooLargeError } from '../../domain/errors.ts';
import { pageResult, type Page } from '../../domain/paging.ts';
import { analyzeChange, changesSummary, serviceImpact, type KeyChange, type LineCounts, type RuleMatch } from './analysis.ts';
import type { CollectedConfigFile, ConfigFileSink, ConfigRecordResult } from './contracts.ts';
import { detectType, maskerFor, maskSecrets, parseConfig, type Detection } from './formats.ts';
import type { ChangeType, ConfigChangeEventRow, ConfigSnapshotRow, ConfigType, RiskLevel } from './schema.ts';
import { RISK_LEVELS } from './schema.ts';

/** Largest configuration file kept (bytes as read). */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Longest file path (the column is varchar(1024)). */
export const MAX_PATH_LENGTH = 1024;
/** First key of the advisory locks of this module (the second is a hash of node and path). */
const LOCK_NAMESPACE = 0x0c0f_1925;

/** Why a configuration file path is refused, or null: absolute, no `.`/`..` segment, no control characters, at most 1024 characters. */
export function pathProblem(path: string): string | null {
  if (!path.startsWith('/')) return 'must be an absolute path (starting with /)';
  if (path.length > MAX_PATH_LENGTH) return `must be at most ${MAX_PATH_LENGTH} characters`;
  if (path.split('/').some((s) => s === '..' || s === '.')) return 'must not contain . or .. segments';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'must not contain control characters';
  return null;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const INT4_MAX = 2_147_483_647;

/** The detection stored with a snapshot is only its type; a diff re-detects how the type was known from the path and content. */
function detectionFor(type: ConfigType, path: string, content: string): Detection {
  const d = detectType(path, content);
  return d.type === type ? d : { type, by: 'content', why: `stored as ${type}` };
}

export class ConfigTracker implements ConfigFileSink {
  async record(tx: Queryable, file: CollectedConfigFile): Promise<ConfigRecordResult> {
    const problem = pathProblem(file.filePath);
    if (problem) throw new InvalidError('CONFIG_PATH_INVALID', `filePath ${problem}`, [{ path: 'filePath', message: problem }]);
    if (file.content.length > MAX_CONFIG_BYTES) throw new TooLargeError('CONFIG_FILE_TOO_LARGE', `${file.filePath} is ${file.content.length} bytes; at most ${MAX_CONFIG_BYTES} are kept`, { maxBytes: MAX_CONFIG_BYTES });
    let text: string;
    try {
      if (file.content.includes(0)) throw new Error('NUL byte');
      text = new TextDecoder('utf-8', { fatal: true }).decode(file.content);
    } catch {
      throw new InvalidError('CONFIG_FILE_BINARY', `${file.filePath} is not UTF-8 text`, [{ path: 'content', message: 'not UTF-8 text' }]);
    }
    const detection = detectType(file.filePath, text);
    const masked = maskSecrets(text, detection.type, maskerFor(file.nodeId, file.filePath));
    const hash = sha256(masked);

    await tx.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2::text))', [LOCK_NAMESPACE, `${file.nodeId} ${file.filePath}`]);
    const latest = await tx.queryOne<Pick<ConfigSnapshotRow, 'id' | 'content_hash' | 'raw_content' | 'config_type' | 'time'>>(
      'SELECT id, content_hash, raw_content, config_type, time FROM configuration_snapshots WHERE node_id = $1 AND file_path = $2 ORDER BY time DESC, change_type DESC LIMIT 1',
      [file.nodeId, file.filePath],
    );
    if (latest && latest.content_hash === hash) return { changeType: 'unchanged', snapshotId: null, changeEventId: null };
    if (!latest && !(await tx.queryOne('SELECT 1 FROM nodes WHERE id = $1', [file.nodeId]))) throw new NotFoundError('NODE_NOT_FOUND', `no node ${JSON.stringify(file.nodeId)}`);

    const parsed = parseConfig(detection.type, masked);
    const latency = file.fileModifiedTime ? Math.min(INT4_MAX, Math.max(0, file.collectedAt.getTime() - file.fileModifiedTime.getTime())) : null;
    const common = [file.nodeId, file.collectedAt.toISOString(), detection.type, file.filePath, hash, file.content.length, masked, parsed ? JSON.stringify(parsed.data) : null];
    const insert = `INSERT INTO configuration_snapshots (node_id, time, config_type, file_path, content_hash, file_size_bytes, raw_content, parsed_data, change_type, previous_hash, file_modified_time, collection_source, detection_latency_ms, affected_services, requires_restart, risk_level)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9, $10, $11, $12, $13, $14::text::jsonb, $15, $16) RETURNING id`;
    const tail = (changeType: ChangeType, previous: string | null, affected: string[], restart: boolean, risk: RiskLevel) => [
      changeType,
      previous,
      file.fileModifiedTime?.toISOString() ?? null,
      file.collectionSource,
      latency,
      JSON.stringify(affected),
      restart,
      risk,
    ];

    if (!latest) {
      // The first sight of a file is its baseline: a snapshot, no change event (nothing to compare; every file of a new device would raise one).
      const impact = serviceImpact(detection.type, file.filePath, parsed, null);
      const row = await tx.queryOne<{ id: string }>(insert, [...common, ...tail('created', null, impact.affectedServices, false, 'LOW')]);
      return { changeType: 'created', snapshotId: row!.id, changeEventId: null };
    }

    const a = analyzeChange(file.filePath, detection, latest.raw_content, masked, { old: latest.time.toISOString(), new: file.collectedAt.toISOString() });
    const snap = await tx.queryOne<{ id: string }>(insert, [...common, ...tail('modified', latest.content_hash, a.impact.affectedServices, a.impact.requiresRestart, a.riskLevel)]);
    const ev = await tx.queryOne<{ id: string }>(
      `INSERT INTO configuration_change_events (node_id, snapshot_id, time, config_type, file_path, change_type, affected_services, service_dependencies, requires_restart, restart_services, changes_summary, risk_level, confidence_score, processed, notifications_sent)
       VALUES ($1, $2, $3, $4, $5, 'modified', $6::text::jsonb, $7::text::jsonb, $8, $9::text::jsonb, $10::text::jsonb, $11, $12, false, '[]') RETURNING id`,
      [
        file.nodeId,
        snap!.id,
        file.collectedAt.toISOString(),
        detection.type,
        file.filePath,
        JSON.stringify(a.impact.affectedServices),
        JSON.stringify(a.impact.serviceDependencies),
        a.impact.requiresRestart,
        JSON.stringify(a.impact.restartServices),
        JSON.stringify(changesSummary(a)),
        a.riskLevel,
        a.confidenceScore,
      ],
    );
    return { changeType: 'modified', snapshotId: snap!.id, changeEventId: ev!.id };
  }
}

// ───────────────────────────── reads ─────────────────────────────

export interface SnapshotSummary {
  id: string;
  nodeId: string;
  time: string;
  configType: ConfigType;
  filePath: string;
  contentHash: string;
  fileSizeBytes: number | null;
  changeType: ChangeType;
  previousHash: string | null;
  fileModifiedTime: string | null;
  collectionSource: string;
  detectionLatencyMs: number | null;
  affectedServices: string[];
  requiresRestart: boolean;
  riskLevel: RiskLevel;
}

export interface SnapshotDetail extends SnapshotSummary {
  rawContent: string;
  parsedData: unknown;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

const toSummary = (r: ConfigSnapshotRow): SnapshotSummary => ({
  id: r.id,
  nodeId: r.node_id,
  time: r.time.toISOString(),
  configType: r.config_type,
  filePath: r.file_path,
  contentHash: r.content_hash,
  fileSizeBytes: r.file_size_bytes,
  changeType: r.change_type,
  previousHash: r.previous_hash,
  fileModifiedTime: iso(r.file_modified_time),
  collectionSource: r.collection_source,
  detectionLatencyMs: r.detection_latency_ms,
  affectedServices: r.affected_services ?? [],
  requiresRestart: r.requires_restart ?? false,
  riskLevel: r.risk_level ?? 'MEDIUM',
});

export interface ChangeEvent {
  id: string;
  nodeId: string;
  snapshotId: string;
  time: string;
  configType: ConfigType;
  filePath: string;
  changeType: ChangeType;
  affectedServices: string[];
  serviceDependencies: Record<string, string[]>;
  requiresRestart: boolean;
  restartServices: string[];
  changesSummary: Record<string, unknown>;
  riskLevel: RiskLevel;
  confidenceScore: number | null;
  processed: boolean;
  notificationsSent: unknown[];
}

const toEvent = (r: ConfigChangeEventRow): ChangeEvent => ({
  id: r.id,
  nodeId: r.node_id,
  snapshotId: r.snapshot_id,
  time: r.time.toISOString(),
  configType: r.config_type,
  filePath: r.file_path,
  changeType: r.change_type,
  affectedServices: r.affected_services ?? [],
  serviceDependencies: r.service_dependencies ?? {},
  requiresRestart: r.requires_restart ?? false,
  restartServices: r.restart_services ?? [],
  changesSummary: r.changes_summary ?? {},
  riskLevel: r.risk_level ?? 'MEDIUM',
  confidenceScore: r.confidence_score,
  processed: r.processed ?? false,
  notificationsSent: r.notifications_sent ?? [],
});

export interface TrackedFile {
  filePath: string;
  configType: ConfigType;
  snapshots: number;
  changes: number;
  firstSeen: string;
  lastSnapshotId: string;
  lastSnapshotAt: string;
  contentHash: string;
  riskLevel: RiskLevel;
}

export interface ConfigDiff {
  filePath: string;
  configType: ConfigType;
  from: SnapshotSummary;
  to: SnapshotSummary;
  identical: boolean;
  lines: LineCounts;
  unifiedDiff: string;
  truncated: boolean;
  parsed: boolean;
  keyChanges: KeyChange[];
  rules: RuleMatch[];
  riskLevel: RiskLevel;
}

export interface ChangeFilter {
  nodeId?: string | undefined;
  riskLevel?: RiskLevel | undefined;
  minRisk?: RiskLevel | undefined;
  processed?: boolean | undefined;
  filePath?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

export interface FrequencyRow {
  nodeId: string;
  filePath: string;
  configType: ConfigType;
  changes: number;
  highRisk: number;
  unprocessed: number;
  firstChange: string;
  lastChange: string;
  changesPerDay: number;
}

const nodeNotFound = (id: string) => new NotFoundError('NODE_NOT_FOUND', `no node ${JSON.stringify(id)}`);
const snapshotNotFound = (id: string) => new NotFoundError('CONFIG_SNAPSHOT_NOT_FOUND', `no configuration snapshot ${id} on this device`);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function requireNode(db: Queryable, nodeId: string): Promise<void> {
  if (!(await db.queryOne('SELECT 1 FROM nodes WHERE id = $1', [nodeId]))) throw nodeNotFound(nodeId);
}

async function snapshotRow(db: Queryable, nodeId: string, id: string): Promise<ConfigSnapshotRow> {
  const row = UUID.test(id) ? await db.queryOne<ConfigSnapshotRow>('SELECT * FROM configuration_snapshots WHERE id = $1 AND node_id = $2', [id, nodeId]) : null;
  if (!row) throw snapshotNotFound(id);
  return row;
}

/** The files tracked on a device, with their latest snapshot (most recently changed first). */
export async function listFiles(db: Queryable, nodeId: string, page: { page: number; pageSize: number }): Promise<Page<TrackedFile>> {
  await requireNode(db, nodeId);
  const total = (await db.queryOne<{ n: number }>('SELECT count(DISTINCT file_path)::int AS n FROM configuration_snapshots WHERE node_id = $1', [nodeId]))?.n ?? 0;
  const rows = await db.queryMany<{ file_path: string; config_type: ConfigType; snapshots: number; changes: number; first_seen: Date; id: string; time: Date; content_hash: string; risk_level: RiskLevel }>(
    `SELECT DISTINCT ON (s.file_path) s.file_path, s.config_type, s.id, s.time, s.content_hash, s.risk_level,
            count(*) OVER (PARTITION BY s.file_path)::int AS snapshots,
            (count(*) FILTER (WHERE s.change_type = 'modified') OVER (PARTITION BY s.file_path))::int AS changes,
            min(s.time) OVER (PARTITION BY s.file_path) AS first_seen
       FROM configuration_snapshots s WHERE s.node_id = $1
      ORDER BY s.file_path, s.time DESC`,
    [nodeId],
  );
  rows.sort((a, b) => b.time.getTime() - a.time.getTime() || a.file_path.localeCompare(b.file_path));
  const items = rows.slice((page.page - 1) * page.pageSize, page.page * page.pageSize).map((r) => ({
    filePath: r.file_path,
    configType: r.config_type,
    snapshots: r.snapshots,
    changes: r.changes,
    firstSeen: r.first_seen.toISOString(),
    lastSnapshotId: r.id,
    lastSnapshotAt: r.time.toISOString(),
    contentHash: r.content_hash,
    riskLevel: r.risk_level,
  }));
  return pageResult(items, total, page.page, page.pageSize);
}

/** Snapshots of a device (of one file when `path` is given), newest first. */
export async function listSnapshots(db: Queryable, nodeId: string, q: { path?: string | undefined; page: number; pageSize: number }): Promise<Page<SnapshotSummary>> {
  await requireNode(db, nodeId);
  const where = q.path === undefined ? 'node_id = $1' : 'node_id = $1 AND file_path = $2';
  const params: unknown[] = q.path === undefined ? [nodeId] : [nodeId, q.path];
  const total = (await db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM configuration_snapshots WHERE ${where}`, params))?.n ?? 0;
  const rows = await db.queryMany<ConfigSnapshotRow>(
    `SELECT * FROM configuration_snapshots WHERE ${where} ORDER BY time DESC, change_type DESC, id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, q.pageSize, (q.page - 1) * q.pageSize],
  );
  return pageResult(rows.map(toSummary), total, q.page, q.pageSize);
}

export async function getSnapshot(db: Queryable, nodeId: string, id: string): Promise<SnapshotDetail> {
  await requireNode(db, nodeId);
  const r = await snapshotRow(db, nodeId, id);
  return { ...toSummary(r), rawContent: r.raw_content, parsedData: r.parsed_data ?? null };
}

/** The diff between any two snapshots of the same file of a device (from → to; either order in time). */
export async function diffSnapshots(db: Queryable, nodeId: string, fromId: string, toId: string): Promise<ConfigDiff> {
  await requireNode(db, nodeId);
  const from = await snapshotRow(db, nodeId, fromId);
  const to = await snapshotRow(db, nodeId, toId);
  if (from.file_path !== to.file_path) {
    throw new InvalidError('CONFIG_DIFF_DIFFERENT_FILES', `from (${from.file_path}) and to (${to.file_path}) are snapshots of different files; a diff compares two snapshots of one file`);
  }
  const a = analyzeChange(to.file_path, detectionFor(to.config_type, to.file_path, to.raw_content), from.raw_content, to.raw_content, { old: from.time.toISOString(), new: to.time.toISOString() });
  return {
    filePath: to.file_path,
    configType: to.config_type,
    from: toSummary(from),
    to: toSummary(to),
    identical: from.content_hash === to.content_hash,
    lines: a.lines,
    unifiedDiff: a.unifiedDiff,
    truncated: a.truncated,
    parsed: a.parsed,
    keyChanges: a.keyChanges,
    rules: from.content_hash === to.content_hash ? [] : a.rules,
    riskLevel: from.content_hash === to.content_hash ? 'LOW' : a.riskLevel,
  };
}

/** `to` must be after `from` (400 INVALID_TIME_RANGE, the convention of every Opsdeck time range). */
function checkRange(from: Date | undefined, to: Date | undefined): void {
  if (from !== undefined && to !== undefined && !(to.getTime() > from.getTime())) throw new InvalidError('INVALID_TIME_RANGE', '`to` must be after `from`');
}

function changeWhere(f: ChangeFilter): { where: string; params: unknown[] } {
  checkRange(f.from, f.to);
  const conds: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    conds.push(sql.replace('?', `$${params.length}`));
  };
  if (f.nodeId !== undefined) add('node_id = ?', f.nodeId);
  if (f.filePath !== undefined) add('file_path = ?', f.filePath);
  if (f.riskLevel !== undefined) add('risk_level = ?', f.riskLevel);
  if (f.minRisk !== undefined) add('risk_level = ANY(?::text[])', RISK_LEVELS.slice(RISK_LEVELS.indexOf(f.minRisk)));
  if (f.processed !== undefined) add('coalesce(processed, false) = ?', f.processed);
  if (f.from !== undefined) add('time >= ?', f.from.toISOString());
  if (f.to !== undefined) add('time < ?', f.to.toISOString());
  return { where: conds.length ? `WHERE ${conds.join(' AND ')}` : '', params };
}

export async function listChangeEvents(db: Queryable, f: ChangeFilter, page: { page: number; pageSize: number }): Promise<Page<ChangeEvent>> {
  const { where, params } = changeWhere(f);
  const total = (await db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM configuration_change_events ${where}`, params))?.n ?? 0;
  const rows = await db.queryMany<ConfigChangeEventRow>(
    `SELECT * FROM configuration_change_events ${where} ORDER BY time DESC, id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, page.pageSize, (page.page - 1) * page.pageSize],
  );
  return pageResult(rows.map(toEvent), total, page.page, page.pageSize);
}

const eventNotFound = (id: string) => new NotFoundError('CONFIG_CHANGE_NOT_FOUND', `no configuration change event ${id}`);

export async function getChangeEvent(db: Queryable, id: string): Promise<ChangeEvent> {
  const r = UUID.test(id) ? await db.queryOne<ConfigChangeEventRow>('SELECT * FROM configuration_change_events WHERE id = $1', [id]) : null;
  if (!r) throw eventNotFound(id);
  return toEvent(r);
}

/** Marks a change event handled (idempotent); an alert over it resolves at the next evaluation. */
export async function setProcessed(db: Queryable, id: string, processed: boolean): Promise<ChangeEvent> {
  const r = UUID.test(id) ? await db.queryOne<ConfigChangeEventRow>('UPDATE configuration_change_events SET processed = $2 WHERE id = $1 RETURNING *', [id, processed]) : null;
  if (!r) throw eventNotFound(id);
  return toEvent(r);
}

/**
 * Configuration change frequency: per device and file, the changes in [from, to),
 * how many were HIGH risk and are still unprocessed, the first and last, and
 * changes per day over the window — most changed first.
 */
export async function changeFrequency(db: Queryable, q: { from: Date; to: Date; nodeId?: string | undefined; limit: number }): Promise<{ from: string; to: string; days: number; items: FrequencyRow[] }> {
  checkRange(q.from, q.to);
  const days = (q.to.getTime() - q.from.getTime()) / 86_400_000;
  const rows = await db.queryMany<{ node_id: string; file_path: string; config_type: ConfigType; changes: number; high_risk: number; unprocessed: number; first_change: Date; last_change: Date }>(
    `SELECT node_id, file_path, (array_agg(config_type ORDER BY time DESC))[1] AS config_type, count(*)::int AS changes,
            (count(*) FILTER (WHERE risk_level = 'HIGH'))::int AS high_risk,
            (count(*) FILTER (WHERE NOT coalesce(processed, false)))::int AS unprocessed,
            min(time) AS first_change, max(time) AS last_change
       FROM configuration_change_events
      WHERE time >= $1 AND time < $2 AND ($3::text IS NULL OR node_id = $3)
      GROUP BY node_id, file_path
      ORDER BY changes DESC, last_change DESC, node_id, file_path
      LIMIT $4`,
    [q.from.toISOString(), q.to.toISOString(), q.nodeId ?? null, q.limit],
  );
  return {
    from: q.from.toISOString(),
    to: q.to.toISOString(),
    days: Math.round(days * 100) / 100,
    items: rows.map((r) => ({
      nodeId: r.node_id,
      filePath: r.file_path,
      configType: r.config_type,
      changes: r.changes,
      highRisk: r.high_risk,
      unprocessed: r.unprocessed,
      firstChange: r.first_change.toISOString(),
      lastChange: r.last_change.toISOString(),
      changesPerDay: Math.round((r.changes / days) * 100) / 100,
    })),
  };
}
