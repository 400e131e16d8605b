/**
 * Ingest schema and insert SQL derived from a family declaration.
 * One statement per batch (INSERT … SELECT FROM unnest(arrays)), idempotent on
 * (identity, time): a retried batch stores nothing twice.
 */
import { z } from 'zod';
import { SQL_TYPES, intervalSeconds, type ColumnDecl, type Family, type FamilyDecl, type IngestRow } from './family.ts';

const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/;

function columnSchema(c: ColumnDecl): z.ZodType {
  switch (c.type) {
    case 'text': {
      const s = c.values ? z.enum(c.values as [string, ...string[]]) : z.string().max(256);
      return s.nullable().optional();
    }
    case 'boolean':
      return z.boolean().nullable().optional();
    case 'double':
    case 'integer':
    case 'bigint': {
      let n = c.type === 'double' ? z.number() : z.number().int();
      if (c.type === 'integer') n = n.min(-2147483648).max(2147483647);
      if (c.type === 'bigint') n = n.min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
      if (c.min !== undefined) n = n.min(c.min);
      if (c.max !== undefined) n = n.max(c.max);
      return n.nullable().optional();
    }
  }
}

/** The strict Zod schema of one ingest row: camelCase fields, unknown fields rejected. */
export function ingestRowSchema<F extends FamilyDecl>(f: Family<F>): z.ZodType<IngestRow<F>> {
  const shape: Record<string, z.ZodType> = {
    timestamp: z.iso.datetime({ offset: true }).optional(),
  };
  for (const id of f.identity) {
    shape[camel(id)] = z.string().min(1).max(128).regex(NODE_ID, 'letters, digits and . _ : @ - only, starting with a letter or digit');
  }
  for (const c of f.columns) shape[c.field] = columnSchema(c);
  return z.strictObject(shape) as unknown as z.ZodType<IngestRow<F>>;
}

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

export interface RowIssue {
  index: number;
  path: (string | number)[];
  message: string;
}

export class IngestValidationError extends Error {
  readonly code = 'VALIDATION_FAILED';
  constructor(readonly issues: RowIssue[]) {
    const first = issues[0];
    super(
      first
        ? `row ${first.index}: ${first.path.join('.') || '(row)'}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`
        : 'invalid rows',
    );
    this.name = 'IngestValidationError';
  }
}

/** Column-major arrays ready for the UNNEST insert. */
export interface ColumnBatch {
  rows: number;
  /** Arrays in insert order: time, identity…, columns…. */
  arrays: unknown[][];
  minTime: number;
  maxTime: number;
  /** Latest time (and role, when the family has a role column) per node. */
  latestByNode: Map<string, { time: number; role: string | null }>;
}

export interface ValidateOptions {
  now?: number;
  /** Rows further in the future than this are rejected (seconds). */
  maxFutureSeconds?: number;
  maxIssues?: number;
}

/**
 * Validates raw JSON rows and turns them into column arrays. Throws
 * IngestValidationError listing every bad row (index + field path); nothing is
 * returned, so nothing is written, unless all rows are valid.
 */
export function prepareBatch(f: Family, schema: z.ZodType, input: readonly unknown[], opts: ValidateOptions = {}): ColumnBatch {
  const now = opts.now ?? Date.now();
  const maxFuture = now + (opts.maxFutureSeconds ?? 3600) * 1000;
  const oldest = now - intervalSeconds(f.decl.retention.raw) * 1000;
  const maxIssues = opts.maxIssues ?? 20;
  const issues: RowIssue[] = [];
  const nCols = 1 + f.identity.length + f.columns.length;
  const arrays: unknown[][] = Array.from({ length: nCols }, () => new Array<unknown>(input.length));
  const idFields = f.identity.map(camel);
  const latestByNode = new Map<string, { time: number; role: string | null }>();
  const roleField = f.decl.roleColumn ? camel(f.decl.roleColumn) : null;
  let minTime = Infinity;
  let maxTime = -Infinity;
  for (let i = 0; i < input.length; i++) {
    const parsed = schema.safeParse(input[i]);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        if (issues.length < maxIssues) issues.push({ index: i, path: issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: issue.message });
      }
      continue;
    }
    const row = parsed.data as Record<string, unknown>;
    const t = row.timestamp === undefined ? now : Date.parse(row.timestamp as string);
    if (t > maxFuture || t < oldest) {
      if (issues.length < maxIssues) {
        issues.push({
          index: i,
          path: ['timestamp'],
          message: t > maxFuture ? `is more than ${opts.maxFutureSeconds ?? 3600} s in the future` : `is older than the raw retention of ${f.decl.retention.raw}`,
        });
      }
      continue;
    }
    if (issues.length) continue;
    arrays[0]![i] = new Date(t).toISOString();
    for (let k = 0; k < idFields.length; k++) arrays[1 + k]![i] = row[idFields[k]!];
    for (let k = 0; k < f.columns.length; k++) {
      const v = row[f.columns[k]!.field];
      // booleans travel as 't'/'f' text (see insertSQL)
      arrays[1 + idFields.length + k]![i] = v === undefined || v === null ? null : typeof v === 'boolean' ? (v ? 't' : 'f') : v;
    }
    if (t < minTime) minTime = t;
    if (t > maxTime) maxTime = t;
    const node = row.nodeId as string;
    const prev = latestByNode.get(node);
    if (!prev || t >= prev.time) latestByNode.set(node, { time: t, role: roleField ? ((row[roleField] as string | null | undefined) ?? null) : null });
  }
  if (issues.length) throw new IngestValidationError(issues);
  return { rows: input.length, arrays, minTime, maxTime, latestByNode };
}

/** INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING for the family. */
export function insertSQL(f: Family): string {
  const cols = ['time', ...f.identity, ...f.columns.map((c) => c.name)];
  // Boolean arrays go as text[] and are cast: postgres.js types a JS boolean array as a scalar bool.
  const types = ['timestamptz', ...f.identity.map(() => 'text'), ...f.columns.map((c) => (c.type === 'boolean' ? 'text[]::boolean' : SQL_TYPES[c.type]))];
  const args = types.map((t, i) => `$${i + 1}::${t}[]`).join(', ');
  return `INSERT INTO ${f.table} (${cols.join(', ')})\nSELECT * FROM unnest(${args})\nON CONFLICT (${[...f.identity, 'time'].join(', ')}) DO NOTHING`;
}

/** Column names in insert order (the COPY benchmark uses the same order). */
export function insertColumns(f: Family): string[] {
  return ['time', ...f.identity, ...f.columns.map((c) => c.name)];
}
