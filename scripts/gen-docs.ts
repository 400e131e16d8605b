/**
 * Regenerates the parts of the docs that are derived from declarations:
 *   - docs/schema.md, between the `generated:families` markers: every
 *     time-series family (columns, units, rollups, sources, storage settings);
 *   - README.md, between the `generated:config` markers: the configuration table.
 * `npm run docs:gen` writes them; the docs test fails when they are stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configReference } from '../src/config.ts';
import { camelCase, SQL_TYPES, type Family } from '../src/timeseries/family.ts';
import { FAMILIES } from '../src/modules/families.ts';
import { STREAMS } from '../src/modules/streams.ts';
import { HISTOGRAM, STREAM_SQL_TYPES, type Stream } from '../src/timeseries/stream.ts';
import { streamIngestHorizonSeconds } from '../src/timeseries/stream-ddl.ts';

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function familyDocs(families: readonly Family[] = FAMILIES): string {
  const out: string[] = [];
  for (const f of families) {
    const d = f.decl;
    out.push(`### \`${f.table}\` — ${d.title}`, '', d.description, '');
    out.push(
      `API type \`${f.key}\` · identity (${[...f.identity].map((i) => `\`${i}\``).join(', ')}, \`time\`) · ` +
        `${f.nodeColumn === null ? 'no node column (rows register no nodes)' : `node column \`${f.nodeColumn}\``} · sampled every ${d.sampleInterval} · ` +
        `chunk ${d.chunkInterval} (timescale) / partition ${f.partitionInterval} (postgres) · raw retention ${d.retention.raw} · compression after ${d.compressAfter}, segment by ${f.identity.join(', ')}, order by time DESC`,
      '',
      `Rollups: \`${d.rollups['5m']}\` (5 min, kept ${d.retention['5m']}), \`${d.rollups['1h']}\` (1 h, kept ${d.retention['1h']}), \`${d.rollups['1d']}\` (1 day, kept ${d.retention['1d']}).`,
      '',
      '| column | API field | type | unit | rollup | source | description |',
      '|---|---|---|---|---|---|---|',
      `| \`time\` | \`timestamp\` | timestamptz | — | bucket start | sender clock (server time when omitted) | Sample time |`,
    );
    f.identity.forEach((name, k) => {
      const id = d.identity[name]!;
      const r = f.identityRules[k]!;
      const rule = id.pattern || id.maxLength ? ` (${esc(r.rule)}, at most ${r.maxLength} characters)` : '';
      out.push(`| \`${name}\` | \`${camelCase(name)}\` | text | — | ${name === f.nodeColumn ? 'identity, node' : 'identity'} | — | ${esc(id.description)}${rule} |`);
    });
    for (const c of f.columns) {
      const bounds = [c.min !== undefined ? `≥ ${c.min}` : '', c.max !== undefined ? `≤ ${c.max}` : '', c.values ? `one of ${c.values.join(', ')}` : ''].filter(Boolean).join(', ');
      out.push(`| \`${c.name}\` | \`${c.field}\` | ${SQL_TYPES[c.type]} | ${esc(c.unit)} | ${c.agg} | ${esc(c.source ?? '—')} | ${esc(c.description)}${bounds ? ` (${bounds})` : ''} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

function measureText(m: Stream['rollups'][number]['measures'][number]): string {
  switch (m.fn) {
    case 'count':
      return m.column ? `count(${m.column})` : 'count(*)';
    case 'countWhere':
      return `count where ${m.column} = ${JSON.stringify(m.equals)}`;
    case 'quantile':
      return `p${Math.round(m.q * 100)} of ${m.column} (histogram \`${m.column}_hist\`, ±${(HISTOGRAM.relativeError * 100).toFixed(1)} %)`;
    case 'avg':
      return `avg(${m.column}) (\`${m.name}_sum\` / \`${m.name}_count\`)`;
    default:
      return `${m.fn}(${m.column})`;
  }
}

export function streamDocs(streams: readonly Stream[] = STREAMS): string {
  const out: string[] = [];
  for (const st of streams) {
    const d = st.decl;
    const horizonDays = Math.floor(streamIngestHorizonSeconds(st) / 86400);
    out.push(`### \`${st.table}\` — ${d.title}`, '', d.description, '');
    out.push(
      `API \`/api/v1/events/${st.key}\` · idempotency key (${d.idempotencyKey.map((k) => `\`${k}\``).join(', ')}, \`time\`)${d.derivedKey ? ` — \`${d.derivedKey}\` derived from the event when absent` : ''} · ` +
        `chunk ${d.chunkInterval} (timescale) / partition ${st.partitionInterval} (postgres) · retention ${d.retention} · compression after ${d.compressAfter}, segment by ${d.segmentBy} · ` +
        `list window ≤ ${d.maxListWindow} · events accepted back to ${horizonDays} days`,
      '',
      `Indexes: ${['(time DESC)', ...d.indexes.map((i) => `(${i.join(', ')}, time DESC)`)].map((x) => `\`${x}\``).join(', ')}.`,
      '',
      '| column | API field | type | filter | source | description |',
      '|---|---|---|---|---|---|',
      `| \`time\` | \`timestamp\` | timestamptz | window | sender clock (server time when omitted) | Event time |`,
    );
    for (const c of st.columns) {
      const rules = [
        c.required ? 'required' : '',
        c.values ? `one of ${c.values.join(', ')}` : '',
        c.maxLength !== undefined ? `≤ ${c.maxLength} chars` : c.type === 'text' && !c.values ? '≤ 256 chars' : '',
        c.lowercase ? 'stored lower-case' : '',
        c.min !== undefined ? `${c.min} … ${c.max}${c.unit ? ` ${c.unit}` : ''}` : '',
      ].filter(Boolean).join(', ');
      out.push(`| \`${c.name}\` | \`${c.field}\` | ${STREAM_SQL_TYPES[c.type]} | ${c.dimension ? 'dimension' : '—'} | ${esc(c.source ?? '—')} | ${esc(c.description)}${rules ? ` (${esc(rules)})` : ''} |`);
    }
    out.push('');
    for (const r of st.rollups) {
      out.push(
        `**\`${r.name}\`** — ${esc(r.decl.description)}: ${r.level} buckets by ${r.groupBy.map((g) => `\`${g}\``).join(', ')}; refreshed every ${r.decl.refreshEvery}, kept ${r.decl.retention}. ` +
          `Measures: ${r.measures.map((m) => `\`${m.name}\` = ${measureText(m)}`).join('; ')}.` +
          (r.readBy ? ` Read only for questions filtered by \`${r.readBy}\` (indexed by it and the bucket).` : '') +
          (r.decl.groupIndexes?.length ? ` Indexed by ${r.decl.groupIndexes.map((ix) => `(${[...ix, 'bucket'].map((c) => `\`${c}\``).join(', ')})`).join(' and ')}, for a page of groups.` : ''),
        '',
      );
    }
  }
  return out.join('\n');
}

export function configDocs(): string {
  const rows = configReference().map((r) => `| \`${r.env}\` | ${r.default === '—' ? '—' : `\`${esc(r.default)}\``} | ${esc(r.description)} |`);
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

export function replaceBetween(text: string, marker: string, body: string): string {
  const start = `<!-- generated:${marker}:start -->`;
  const end = `<!-- generated:${marker}:end -->`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`markers for ${marker} not found`);
  return `${text.slice(0, a + start.length)}\n${body}\n${text.slice(b)}`;
}

interface OpenApiOperation {
  summary?: string;
  description?: string;
  security?: unknown[];
  tags?: string[];
}

/** The endpoint table of docs/api.md, from the OpenAPI document the app serves. */
export async function endpointDocs(): Promise<string> {
  const { memoryPGlite } = await import('../src/db/connect.ts');
  const { loadConfig } = await import('../src/config.ts');
  const { createRuntime } = await import('../src/runtime.ts');
  const pino = (await import('pino')).default;
  const db = await memoryPGlite();
  const rt = await createRuntime(loadConfig({}, { logLevel: 'silent', selfMonitor: false, jobs: false }), { db, logger: pino({ level: 'silent' }) });
  await rt.app.ready();
  const doc = rt.app.swagger() as { paths: Record<string, Record<string, OpenApiOperation>> };
  await rt.close();
  await db.close();
  const rows: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths).sort(([a], [b]) => a.localeCompare(b))) {
    for (const [method, op] of Object.entries(ops)) {
      const access = /Requires a user with role ≥ (\w+) or an API key with scope `(\w+)`/.exec(op.description ?? '');
      rows.push(`| ${method.toUpperCase()} | \`${path}\` | ${esc(op.summary ?? '')} | ${access ? `role ≥ ${access[1]} / scope ${access[2]}` : 'public'} |`);
    }
  }
  return ['| method | path | summary | access (user role / API-key scope) |', '|---|---|---|---|', ...rows].join('\n');
}

export const DOC_FILES = {
  schema: fileURLToPath(new URL('../docs/schema.md', import.meta.url)),
  readme: fileURLToPath(new URL('../README.md', import.meta.url)),
  api: fileURLToPath(new URL('../docs/api.md', import.meta.url)),
};

export async function renderedDocs(): Promise<{ schema: string; readme: string; api: string }> {
  return {
    schema: replaceBetween(replaceBetween(readFileSync(DOC_FILES.schema, 'utf8'), 'families', familyDocs()), 'streams', streamDocs()),
    readme: replaceBetween(readFileSync(DOC_FILES.readme, 'utf8'), 'config', configDocs()),
    api: replaceBetween(readFileSync(DOC_FILES.api, 'utf8'), 'endpoints', await endpointDocs()),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await renderedDocs();
  writeFileSync(DOC_FILES.schema, r.schema);
  writeFileSync(DOC_FILES.readme, r.readme);
  writeFileSync(DOC_FILES.api, r.api);
  console.log('docs/schema.md, docs/api.md and README.md regenerated');
}
