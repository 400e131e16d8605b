/**
 * What a change of a configuration file means: the line diff (jsdiff), the
 * key paths that were added, removed or changed, the risk rules that matched
 * (each with its reason), the services it affects and whether they need a
 * restart, and how sure Opsdeck is of all that (docs/adr/0023). Pure
 * functions over two masked contents.
 */
import { posix } from 'node:path';
import { FILE_HEADERS_ONLY, formatPatch, structuredPatch } from 'diff';
import { isMasked, isSecretKey, normalizeForComparison, parseConfig, type Detection, type Parsed } from './formats.ts';
import type { ConfigType, RiskLevel } from './schema.ts';
import { RISK_LEVELS } from './schema.ts';

/** Longest unified diff kept in a change summary (characters); longer ones are cut and marked truncated. */
export const MAX_UNIFIED_DIFF = 64 * 1024;
/**
 * Most line edits the diff looks for. Beyond it (a file rewritten from end to
 * end) the diff gives up — its cost grows with size × edits and it runs in the
 * collector's transaction — and reports every old line removed and every new
 * line added, with no unified diff (`truncated: true`).
 */
export const MAX_EDIT_LENGTH = 5000;

export interface LineCounts {
  /** Lines only in the new content (not paired with a removed one). */
  added: number;
  /** Lines only in the old content. */
  removed: number;
  /** Removed lines replaced by added ones in the same place (pairs). */
  changed: number;
}

export interface KeyChange {
  key: string;
  change: 'added' | 'removed' | 'changed';
  /** Absent when the value is masked (a secret): the change is shown, the values are not. */
  old?: string | null;
  new?: string | null;
  masked?: true;
}

export interface RuleMatch {
  rule: string;
  risk: RiskLevel;
  reason: string;
  keys: string[];
}

export interface LineDiff {
  lines: LineCounts;
  unifiedDiff: string;
  truncated: boolean;
  addedLines: string[];
  removedLines: string[];
}

const linesOf = (t: string) => (t === '' ? [] : t.replace(/\n$/, '').split('\n'));

export function lineDiff(filePath: string, oldText: string, newText: string, oldLabel = 'old', newLabel = 'new', maxEditLength = MAX_EDIT_LENGTH): LineDiff {
  const patch = structuredPatch(filePath, filePath, oldText, newText, oldLabel, newLabel, { context: 3, maxEditLength });
  if (patch === undefined) {
    const removedLines = linesOf(oldText);
    const addedLines = linesOf(newText);
    return { lines: { added: addedLines.length, removed: removedLines.length, changed: 0 }, unifiedDiff: '', truncated: true, addedLines, removedLines };
  }
  const counts: LineCounts = { added: 0, removed: 0, changed: 0 };
  const addedLines: string[] = [];
  const removedLines: string[] = [];
  for (const h of patch.hunks) {
    let minus = 0;
    let plus = 0;
    const flush = () => {
      const pairs = Math.min(minus, plus);
      counts.changed += pairs;
      counts.removed += minus - pairs;
      counts.added += plus - pairs;
      minus = 0;
      plus = 0;
    };
    for (const l of h.lines) {
      if (l.startsWith('\\')) continue;
      if (l.startsWith('-')) {
        if (plus > 0) flush();
        minus++;
        removedLines.push(l.slice(1));
      } else if (l.startsWith('+')) {
        plus++;
        addedLines.push(l.slice(1));
      } else flush();
    }
    flush();
  }
  let unifiedDiff = patch.hunks.length === 0 ? '' : formatPatch(patch, FILE_HEADERS_ONLY);
  const truncated = unifiedDiff.length > MAX_UNIFIED_DIFF;
  if (truncated) unifiedDiff = unifiedDiff.slice(0, MAX_UNIFIED_DIFF);
  return { lines: counts, unifiedDiff, truncated, addedLines, removedLines };
}

/** Keys added, removed or changed between two flat key maps, sorted by key. */
export function keyChanges(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): KeyChange[] {
  const out: KeyChange[] = [];
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  for (const key of keys) {
    const o = before.get(key);
    const n = after.get(key);
    if (o === n) continue;
    const change = o === undefined ? 'added' : n === undefined ? 'removed' : 'changed';
    if (isMasked(o) || isMasked(n)) out.push({ key, change, masked: true });
    else out.push({ key, change, ...(o !== undefined ? { old: o } : {}), ...(n !== undefined ? { new: n } : {}) });
  }
  return out;
}

/** The last segment of a key path (`http.server[server_name=a].ssl_certificate` → `ssl_certificate`). */
export function lastSegment(key: string): string {
  const stripped = key.replace(/\[[^\]]*\]/g, '');
  const i = stripped.lastIndexOf('.');
  return i < 0 ? stripped : stripped.slice(i + 1);
}

const composeService = (key: string): string | null => /^services\.([A-Za-z0-9_-]+|\["[^"]+"\])/.exec(key)?.[1]?.replace(/^\["|"\]$/g, '') ?? null;
const composeField = (key: string): string | null => /^services\.(?:[A-Za-z0-9_-]+|\["[^"]+"\])\.([A-Za-z0-9_-]+)/.exec(key)?.[1] ?? null;

export interface RuleContext {
  type: ConfigType;
  changes: readonly KeyChange[];
  diff: LineDiff;
}

export interface RiskRule {
  id: string;
  risk: RiskLevel;
  /** Config types the rule reads; 'any': all. */
  types: readonly ConfigType[] | 'any';
  /** The keys (or lines) that make the rule match; empty: it does not. */
  match(ctx: RuleContext): string[];
  reason(keys: string[]): string;
}

const SSHD_ACCESS = new Set(['permitrootlogin', 'passwordauthentication', 'pubkeyauthentication', 'permitemptypasswords', 'kbdinteractiveauthentication', 'challengeresponseauthentication', 'authenticationmethods', 'authorizedkeysfile', 'port', 'listenaddress', 'allowusers', 'allowgroups', 'denyusers', 'denygroups']);
const hostMount = (v: string | null | undefined) => v != null && (/^\/(:|$)/.test(v) || v.includes('docker.sock'));

/** Every risk rule; the change's risk is the highest that matched (MEDIUM when none did). */
export const RISK_RULES: readonly RiskRule[] = [
  {
    id: 'secret-changed',
    risk: 'HIGH',
    types: 'any',
    match: ({ changes, diff }) => {
      const keys = changes.filter((c) => c.masked || isSecretKey(lastSegment(c.key))).map((c) => c.key);
      if (keys.length === 0 && [...diff.addedLines, ...diff.removedLines].some((l) => isMasked(l))) keys.push('(a masked line)');
      return keys;
    },
    reason: (k) => `a secret-looking value changed (${k.join(', ')}); values are masked, a credential was rotated, added or removed`,
  },
  {
    id: 'nginx-exposure',
    risk: 'HIGH',
    types: ['nginx'],
    match: ({ changes }) => changes.filter((c) => { const s = lastSegment(c.key); return s === 'listen' || s === 'server_name' || s.startsWith('ssl_'); }).map((c) => c.key),
    reason: (k) => `nginx listen, server_name or ssl_* changed (${k.join(', ')}): what a site exposes, under which name, with which certificate`,
  },
  {
    id: 'compose-ports',
    risk: 'HIGH',
    types: ['docker-compose'],
    match: ({ changes }) => changes.filter((c) => composeField(c.key) === 'ports').map((c) => c.key),
    reason: (k) => `published ports of a container changed (${k.join(', ')}): what the host exposes to the network`,
  },
  {
    id: 'compose-privileged',
    risk: 'HIGH',
    types: ['docker-compose'],
    match: ({ changes }) => changes.filter((c) => (composeField(c.key) === 'privileged' && c.new === 'true') || composeField(c.key) === 'cap_add').map((c) => c.key),
    reason: (k) => `a container became privileged or gained capabilities (${k.join(', ')})`,
  },
  {
    id: 'compose-host-namespaces',
    risk: 'HIGH',
    types: ['docker-compose'],
    match: ({ changes }) => changes.filter((c) => ['network_mode', 'pid', 'ipc'].includes(composeField(c.key) ?? '') && c.new === 'host').map((c) => c.key),
    reason: (k) => `a container now shares the host's network, PID or IPC namespace (${k.join(', ')})`,
  },
  {
    id: 'compose-host-mount',
    risk: 'HIGH',
    types: ['docker-compose'],
    match: ({ changes }) => changes.filter((c) => composeField(c.key) === 'volumes' && c.change !== 'removed' && hostMount(c.new)).map((c) => c.key),
    reason: (k) => `a container mounts the host's root filesystem or the Docker socket (${k.join(', ')}): root on the host`,
  },
  {
    id: 'sshd-access',
    risk: 'HIGH',
    types: ['sshd_config'],
    match: ({ changes }) => changes.filter((c) => SSHD_ACCESS.has(lastSegment(c.key).toLowerCase())).map((c) => c.key),
    reason: (k) => `who may log in over SSH, how, or where sshd listens changed (${k.join(', ')})`,
  },
];

const riskRank = (r: RiskLevel) => RISK_LEVELS.indexOf(r);
export const maxRisk = (a: RiskLevel, b: RiskLevel): RiskLevel => (riskRank(a) >= riskRank(b) ? a : b);

export interface ServiceImpact {
  affectedServices: string[];
  serviceDependencies: Record<string, string[]>;
  requiresRestart: boolean;
  restartServices: string[];
  /** reload (nginx), recreate (compose), restart, daemon-reload+restart (systemd), or null. */
  action: string | null;
  reason: string;
  /** The rule's own confidence cap (the services of an .env file are not known). */
  confidenceCap: number;
}

function composeServices(data: unknown): Record<string, unknown> {
  const s = (data as { services?: unknown } | null)?.services;
  return s && typeof s === 'object' && !Array.isArray(s) ? (s as Record<string, unknown>) : {};
}
function dependsOn(svc: unknown): string[] {
  const d = (svc as { depends_on?: unknown } | null)?.depends_on;
  if (Array.isArray(d)) return d.map(String);
  if (d && typeof d === 'object') return Object.keys(d);
  return [];
}

/** The services a configuration type affects; `changes` null: the file as a whole (first snapshot). */
export function serviceImpact(type: ConfigType, filePath: string, parsed: Parsed | null, changes: readonly KeyChange[] | null): ServiceImpact {
  const none = (reason: string, cap = 1): ServiceImpact => ({ affectedServices: [], serviceDependencies: {}, requiresRestart: false, restartServices: [], action: null, reason, confidenceCap: cap });
  switch (type) {
    case 'nginx':
      return { affectedServices: ['nginx'], serviceDependencies: {}, requiresRestart: true, restartServices: ['nginx'], action: 'reload', reason: 'nginx reads its configuration at start and on reload (nginx -s reload)', confidenceCap: 1 };
    case 'sshd_config':
      return { affectedServices: ['sshd'], serviceDependencies: {}, requiresRestart: true, restartServices: ['sshd'], action: 'restart', reason: 'sshd reads sshd_config at start (systemctl restart sshd; open sessions stay)', confidenceCap: 1 };
    case 'systemd': {
      const unit = posix.basename(filePath);
      return { affectedServices: [unit], serviceDependencies: {}, requiresRestart: true, restartServices: [unit], action: 'daemon-reload+restart', reason: `a changed unit takes effect after systemctl daemon-reload and a restart of ${unit}`, confidenceCap: 1 };
    }
    case 'docker-compose': {
      const services = composeServices(parsed?.data);
      const all = Object.keys(services);
      let affected: string[];
      if (changes === null) affected = all;
      else {
        const named = new Set<string>();
        let global = false;
        for (const c of changes) {
          const s = composeService(c.key);
          if (s) named.add(s);
          else global = true;
        }
        affected = global ? all : [...named].sort();
      }
      const deps: Record<string, string[]> = {};
      for (const s of affected) deps[s] = dependsOn(services[s]);
      return {
        affectedServices: affected,
        serviceDependencies: deps,
        requiresRestart: affected.length > 0,
        restartServices: affected,
        action: 'recreate',
        reason: 'docker compose up -d recreates the services whose definition changed (a change outside services: affects them all)',
        confidenceCap: 1,
      };
    }
    case 'env':
      return { affectedServices: [], serviceDependencies: {}, requiresRestart: true, restartServices: [], action: 'restart', reason: 'an environment file is read when a service starts; which services use it is not known', confidenceCap: 0.4 };
    default:
      return none(`no service rule for ${type} files`);
  }
}

export interface ChangeAnalysis {
  parsed: boolean;
  lines: LineCounts;
  unifiedDiff: string;
  truncated: boolean;
  keyChanges: KeyChange[];
  rules: RuleMatch[];
  riskLevel: RiskLevel;
  impact: ServiceImpact;
  confidenceScore: number;
  confidenceReason: string;
  /** Only comments, blank lines or spacing changed. */
  cosmetic: boolean;
}

/** Confidence from how the type was known: from the path and parsed 0.9, guessed from the content and parsed 0.7, not parsed 0.5. */
export function confidenceOf(detection: Detection, parsed: boolean, cap: number): { score: number; reason: string } {
  let score = !parsed ? 0.5 : detection.by === 'path' ? 0.9 : 0.7;
  let reason = !parsed ? `${detection.type}: ${detection.type === 'text' ? 'no known format' : 'content did not parse'}, line diff only` : `${detection.type} from ${detection.by === 'path' ? 'the path' : 'the content'} (${detection.why}), parsed`;
  if (cap < score) {
    score = cap;
    reason += '; the services this file affects are not known';
  }
  return { score, reason };
}

/** Analyses the change from `oldText` to `newText` (both masked) of one file. */
export function analyzeChange(filePath: string, detection: Detection, oldText: string, newText: string, labels: { old?: string; new?: string } = {}): ChangeAnalysis {
  const type = detection.type;
  const diff = lineDiff(filePath, oldText, newText, labels.old, labels.new);
  const before = parseConfig(type, oldText);
  const after = parseConfig(type, newText);
  const parsed = before !== null && after !== null;
  const changes = parsed ? keyChanges(before.keys, after.keys) : [];
  const cosmetic = parsed ? changes.length === 0 : normalizeForComparison(type, oldText) === normalizeForComparison(type, newText);
  let rules: RuleMatch[];
  if (cosmetic) {
    rules = [{ rule: 'cosmetic', risk: 'LOW', reason: parsed ? 'no key or value changed: only comments, blank lines, spacing or formatting' : 'only comments, blank lines or spacing changed', keys: [] }];
  } else {
    const ctx: RuleContext = { type, changes, diff };
    rules = [];
    for (const r of RISK_RULES) {
      if (r.types !== 'any' && !r.types.includes(type)) continue;
      const keys = r.match(ctx);
      if (keys.length > 0) rules.push({ rule: r.id, risk: r.risk, reason: r.reason(keys), keys });
    }
    if (rules.length === 0) rules.push({ rule: 'default', risk: 'MEDIUM', reason: 'the configuration changed and no rule marks the change as more or less risky', keys: [] });
  }
  const riskLevel = rules.reduce<RiskLevel>((acc, r) => maxRisk(acc, r.risk), 'LOW');
  let impact = serviceImpact(type, filePath, after, changes);
  if (cosmetic) impact = { ...impact, requiresRestart: false, restartServices: [], reason: `${impact.reason}; nothing that takes effect changed` };
  const conf = confidenceOf(detection, parsed, impact.confidenceCap);
  return { parsed, lines: diff.lines, unifiedDiff: diff.unifiedDiff, truncated: diff.truncated, keyChanges: changes, rules, riskLevel, impact, confidenceScore: conf.score, confidenceReason: conf.reason, cosmetic };
}

/** The JSON stored in configuration_change_events.changes_summary. */
export function changesSummary(a: ChangeAnalysis): Record<string, unknown> {
  return {
    lines: a.lines,
    keyChanges: a.keyChanges,
    parsed: a.parsed,
    rules: a.rules,
    restart: { required: a.impact.requiresRestart, action: a.impact.action, reason: a.impact.reason },
    confidence: { score: a.confidenceScore, reason: a.confidenceReason },
    unifiedDiff: a.unifiedDiff,
    truncated: a.truncated,
  };
}
