/**
 * What a configuration file is (detection), how its secrets are masked before
 * anything is stored, and how each known format becomes a flat map of key
 * paths → values that diffs and risk rules compare (docs/adr/0023). Pure
 * functions, no database.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ConfigType } from './schema.ts';

// ───────────────────────────── detection ─────────────────────────────

export interface TypeRule {
  type: ConfigType;
  /** 'path': known from the file's name or place; 'content': guessed from what the file holds. */
  by: 'path' | 'content';
  why: string;
  test(path: string, base: string, content: string): boolean;
}

const looksJson = (c: string): boolean => {
  if (!/^\s*[{[]/.test(c)) return false;
  try {
    JSON.parse(c);
    return true;
  } catch {
    return false;
  }
};
const ENV_LINE = /^\s*(export\s+)?[A-Za-z_][A-Za-z0-9_]*=/;
const meaningfulLines = (c: string) => c.split('\n').filter((l) => l.trim() !== '' && !/^\s*#/.test(l));

/** Every detection rule, first match wins: path rules before content rules. */
export const TYPE_RULES: readonly TypeRule[] = [
  { type: 'docker-compose', by: 'path', why: 'file name compose*.yml / docker-compose*.yaml', test: (_p, b) => /^(docker-)?compose(\.[\w.-]+)?\.ya?ml$/.test(b) },
  { type: 'sshd_config', by: 'path', why: 'file name sshd_config or a file of sshd_config.d', test: (p, b) => b === 'sshd_config' || /\/sshd_config\.d\/[^/]+\.conf$/.test(p) },
  { type: 'nginx', by: 'path', why: 'nginx.conf or a file under /etc/nginx/', test: (p, b) => b === 'nginx.conf' || p.startsWith('/etc/nginx/') },
  { type: 'systemd', by: 'path', why: 'systemd unit suffix (.service, .socket, .timer, .mount, .path, .target, .slice)', test: (_p, b) => /\.(service|socket|timer|mount|automount|path|target|slice)$/.test(b) },
  { type: 'env', by: 'path', why: 'file name .env, .env.* or *.env', test: (_p, b) => b === '.env' || b.startsWith('.env.') || b.endsWith('.env') },
  { type: 'yaml', by: 'path', why: 'suffix .yml / .yaml', test: (_p, b) => /\.ya?ml$/.test(b) },
  { type: 'json', by: 'path', why: 'suffix .json', test: (_p, b) => b.endsWith('.json') },
  { type: 'ini', by: 'path', why: 'suffix .ini', test: (_p, b) => b.endsWith('.ini') },
  { type: 'json', by: 'content', why: 'content parses as a JSON object or array', test: (_p, _b, c) => looksJson(c) },
  { type: 'systemd', by: 'content', why: 'a [Unit], [Service] or [Install] section', test: (_p, _b, c) => /^\[(Unit|Service|Install|Socket|Timer)\]\s*$/m.test(c) },
  { type: 'nginx', by: 'content', why: 'an nginx block (http, server, events, upstream or location … {)', test: (_p, _b, c) => /^\s*(http|server|events|upstream\s+\S+|location\s+[^{]+)\s*\{/m.test(c) },
  { type: 'docker-compose', by: 'content', why: 'a top-level services: key', test: (_p, _b, c) => /^services:\s*$/m.test(c) },
  { type: 'ini', by: 'content', why: 'a [section] line and key = value lines', test: (_p, _b, c) => /^\s*\[[^\]\n]+\]\s*$/m.test(c) && /^\s*[\w.-]+\s*=/m.test(c) },
  { type: 'env', by: 'content', why: 'every line is KEY=value', test: (_p, _b, c) => { const l = meaningfulLines(c); return l.length > 0 && l.every((x) => ENV_LINE.test(x)); } },
  { type: 'yaml', by: 'content', why: 'top-level key: value lines', test: (_p, _b, c) => /^[A-Za-z_][\w-]*:(\s|$)/m.test(c) },
];

export interface Detection {
  type: ConfigType;
  by: 'path' | 'content' | 'none';
  why: string;
}

export function detectType(path: string, content: string): Detection {
  const base = posix.basename(path);
  for (const r of TYPE_RULES) if (r.test(path, base, content)) return { type: r.type, by: r.by, why: r.why };
  return { type: 'text', by: 'none', why: 'no rule matched: generic text' };
}

// ───────────────────────────── masking ─────────────────────────────

/** The marker that replaces a secret value: the prefix and 8 hex digits of a SHA-256 over the file's identity and the value. */
export const MASK_PREFIX = '***sha256:';
const MASK_RE = /\*\*\*sha256:[0-9a-f]{8}/;
export const isMasked = (v: string | null | undefined): boolean => v != null && MASK_RE.test(v);

const SECRET_WORDS = new Set(['password', 'passwd', 'passphrase', 'pass', 'pwd', 'secret', 'secrets', 'token', 'credential', 'credentials', 'auth', 'apikey', 'privatekey', 'secretkey', 'accesskey', 'dsn']);
const SECRET_PAIRS = new Set(['api key', 'private key', 'access key', 'secret key', 'client secret', 'signing key', 'encryption key', 'master key']);

/** A key that looks like it holds a secret: one of its words (split at _ - . and camelCase) is password, secret, token, auth, api key, private key, credentials … */
export function isSecretKey(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  if (words.some((w) => SECRET_WORDS.has(w))) return true;
  for (let i = 0; i + 1 < words.length; i++) if (SECRET_PAIRS.has(`${words[i]} ${words[i + 1]}`)) return true;
  return false;
}

/** Values kept even under a secret-looking key: empty, booleans, null, references to variables, absolute file paths, markers. */
function exemptValue(v: string): boolean {
  const t = v.trim();
  return (
    t === '' ||
    /^(true|false|yes|no|on|off|null|~|none)$/i.test(t) ||
    /^\$\{[^}]*\}$|^\$[A-Za-z_][A-Za-z0-9_]*$/.test(t) ||
    /^\/[^\s]*$/.test(t) ||
    isMasked(t)
  );
}

const QUOTED_TYPES = new Set<ConfigType>(['yaml', 'docker-compose', 'json']);

export interface Masker {
  marker(value: string): string;
}

/** A masker for one file: the hash covers node, path and value, so equal secrets in two files get unrelated markers. */
export function maskerFor(nodeId: string, filePath: string): Masker {
  return { marker: (value) => MASK_PREFIX + createHash('sha256').update(`${nodeId}\0${filePath}\0${value}`).digest('hex').slice(0, 8) };
}

/** Splits a value at the start of a line into the value itself and what follows (closing punctuation, a comment). */
function splitValue(v: string, type: ConfigType): { quote: string; value: string; rest: string } {
  const q = v[0];
  if (q === '"' || q === "'") {
    let i = 1;
    while (i < v.length && v[i] !== q) i += v[i] === '\\' && q === '"' ? 2 : 1;
    return { quote: q, value: v.slice(1, Math.min(i, v.length)), rest: v.slice(i + 1) };
  }
  let value = v;
  let rest = '';
  const comment = type === 'env' || type === 'nginx' || type === 'text' ? -1 : value.search(/\s+#/);
  if (comment >= 0) {
    rest = value.slice(comment);
    value = value.slice(0, comment);
  }
  const tail = /(\s*[,;]?\s*)$/.exec(value);
  if (tail && tail[1]) {
    rest = tail[1] + rest;
    value = value.slice(0, value.length - tail[1].length);
  }
  return { quote: '', value, rest };
}

function maskScalar(raw: string, type: ConfigType, m: Masker, colon = true): string {
  const { quote, value, rest } = splitValue(raw, type);
  if (exemptValue(value) || (!quote && /^[|>][-+]?\d*$|^[{[]$/.test(value))) return raw;
  const mark = m.marker(value);
  if (quote) return `${quote}${mark}${quote}${rest}`;
  // An unquoted *** would start a YAML alias: quote the marker where the value is a YAML/JSON scalar.
  return (colon && QUOTED_TYPES.has(type) ? `"${mark}"` : mark) + rest;
}

const INLINE_ASSIGN = /(^|[\s"'(,;[{])(-{0,2}[A-Za-z_][A-Za-z0-9_.-]*)=("[^"]*"|'[^']*'|[^\s"',;)\]}]+)/g;
const INLINE_JSON = /("([A-Za-z0-9_.-]+)"\s*:\s*)("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?)/g;
const URL_CREDENTIALS = /([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^\s:@/'"]*):([^\s@/'"]+)@/g;
const PEM = /(-----BEGIN ([A-Z0-9 ]+)-----)([\s\S]*?)(-----END \2-----)/g;
const START_ASSIGN = /^(\s*(?:-\s+)?(?:export\s+)?)(["']?)([A-Za-z_][A-Za-z0-9_.-]*)\2(\s*[:=]\s*)(.*)$/;
const DIRECTIVE = /^(\s*)([A-Za-z_][A-Za-z0-9_.-]*)(\s+)(\S.*?)(\s*;?\s*)$/;

const INLINE_FLOW = /([{,]\s*)([A-Za-z_][A-Za-z0-9_.-]*)(\s*:\s+)("[^"]*"|'[^']*'|[^,}\s"'][^,}]*?)(?=\s*[,}])/g;
const AUTH_HEADER = /(Authorization["']?\s*[:= ]\s*["']?(?:Bearer|Basic|Token)\s+)([^\s"';]+)/gi;

function maskInline(line: string, m: Masker): string {
  return line
    .replace(AUTH_HEADER, (all, head: string, cred: string) => (isMasked(cred) ? all : `${head}${m.marker(cred)}`))
    .replace(INLINE_JSON, (all, head: string, key: string, val: string) => {
      if (!isSecretKey(key)) return all;
      const inner = val.startsWith('"') ? val.slice(1, -1) : val;
      return exemptValue(inner) ? all : `${head}"${m.marker(inner)}"`;
    })
    .replace(INLINE_FLOW, (all, pre: string, key: string, sep: string, val: string) => {
      if (!isSecretKey(key)) return all;
      const q = val[0] === '"' || val[0] === "'" ? val[0] : '';
      const inner = q ? val.slice(1, -1) : val;
      return exemptValue(inner) ? all : `${pre}${key}${sep}"${m.marker(inner)}"`;
    })
    .replace(INLINE_ASSIGN, (all, pre: string, key: string, val: string) => {
      if (!isSecretKey(key)) return all;
      const q = val[0] === '"' || val[0] === "'" ? val[0] : '';
      const inner = q ? val.slice(1, -1) : val;
      return exemptValue(inner) ? all : `${pre}${key}=${q}${m.marker(inner)}${q}`;
    });
}

const indentOf = (l: string) => /^\s*/.exec(l)![0].length;

/**
 * The content with every secret replaced by a marker: PEM blocks other than
 * certificates and public keys, passwords in URLs (user:pass@), and the values
 * of secret-looking keys (KEY=value, key: value, "key": "value", directive
 * value, and — in YAML/JSON — everything nested under such a key). The rest of
 * the file is unchanged, so its lines, comments and structure still diff.
 */
export function maskSecrets(text: string, type: ConfigType, m: Masker): string {
  let t = text.replace(PEM, (all, begin: string, label: string, body: string, end: string) => {
    if (/CERTIFICATE|PUBLIC KEY/.test(label) && !/PRIVATE/.test(label)) return all;
    const mark = m.marker(body.trim());
    if (body.includes('\n')) {
      const endIndent = /\n([ \t]*)$/.exec(body)?.[1] ?? '';
      const firstIndent = /^\r?\n([ \t]*)/.exec(body)?.[1] ?? endIndent;
      return `${begin}\n${firstIndent}${mark}\n${endIndent}${end}`;
    }
    if (body.includes('\\n')) return `${begin}\\n${mark}\\n${end}`;
    return `${begin} ${mark} ${end}`;
  });
  t = t.replace(URL_CREDENTIALS, (_all, scheme: string, user: string, pass: string) => (isMasked(pass) ? _all : `${scheme}${user}:${m.marker(pass)}@`));

  const lines = t.split('\n');
  let block: { indent: number; scalar: boolean } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (block) {
      if (line.trim() === '') continue;
      if (indentOf(line) > block.indent) {
        if (block.scalar) {
          const ind = line.slice(0, indentOf(line));
          lines[i] = isMasked(line) ? line : ind + m.marker(line.trim());
          continue;
        }
        const sa = START_ASSIGN.exec(line);
        if (sa) {
          const [, pre, q, key, sep, val] = sa as unknown as [string, string, string, string, string, string];
          lines[i] = `${pre}${q}${key}${q}${sep}${maskScalar(val, type, m, sep.includes(':'))}`;
        } else {
          const item = /^(\s*-\s+)(.*)$/.exec(line);
          if (item) lines[i] = item[1]! + maskScalar(item[2]!, type, m);
        }
        continue;
      }
      block = null;
    }
    const sa = START_ASSIGN.exec(line);
    if (sa) {
      const [, pre, q, key, sep, val] = sa as unknown as [string, string, string, string, string, string];
      if (isSecretKey(key)) {
        const v = splitValue(val, type);
        if (!v.quote && (v.value === '' || /^[|>][-+]?\d*$/.test(v.value) || v.value === '{' || v.value === '[')) {
          block = { indent: indentOf(line), scalar: /^[|>]/.test(v.value) };
          continue;
        }
        lines[i] = `${pre}${q}${key}${q}${sep}${maskScalar(val, type, m, sep.includes(':'))}`;
      } else {
        lines[i] = `${pre}${q}${key}${q}${sep}${maskInline(val, m)}`;
      }
      continue;
    }
    const d = DIRECTIVE.exec(line);
    if (d && isSecretKey(d[2]!) && !/^\s*#/.test(line)) {
      const val = d[4]!;
      const q = val[0] === '"' || val[0] === "'" ? val[0] : '';
      const inner = q && val.endsWith(q) ? val.slice(1, -1) : val;
      if (!exemptValue(inner)) lines[i] = `${d[1]}${d[2]}${d[3]}${q}${m.marker(inner)}${q}${d[5]}`;
      continue;
    }
    lines[i] = maskInline(line, m);
  }
  return lines.join('\n');
}

// ───────────────────────────── parsing ─────────────────────────────

export interface Parsed {
  /** What parsed_data stores. */
  data: unknown;
  /** Key path → value (scalars as text). */
  keys: Map<string, string>;
}

const SIMPLE_KEY = /^[A-Za-z0-9_-]+$/;
const keySeg = (prefix: string, k: string) => (SIMPLE_KEY.test(k) ? (prefix ? `${prefix}.${k}` : k) : `${prefix}[${JSON.stringify(k)}]`);

/** Flattens YAML/JSON data: `services.web.ports[0]`, `a["b.c"]`. */
export function flatten(v: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(v)) {
    if (v.length === 0) out.set(prefix || '$', '[]');
    v.forEach((x, i) => flatten(x, `${prefix}[${i}]`, out));
  } else if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) out.set(prefix || '$', '{}');
    for (const [k, x] of entries) flatten(x, keySeg(prefix, k), out);
  } else {
    out.set(prefix || '$', v === null || v === undefined ? 'null' : v instanceof Date ? v.toISOString() : String(v as string | number | boolean));
  }
  return out;
}

const unquote = (v: string) => (/^(["']).*\1$/.test(v) && v.length >= 2 ? v.slice(1, -1) : v);

/** INI and systemd units: `[section]` then `key = value` (repeated keys joined with " | "). */
function parseIni(text: string, commentChars: RegExp): Parsed {
  const data: Record<string, Record<string, string>> = {};
  const keys = new Map<string, string>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || commentChars.test(line)) continue;
    const s = /^\[([^\]]+)\]$/.exec(line);
    if (s) {
      section = s[1]!.trim();
      data[section] ??= {};
      continue;
    }
    const kv = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    if (!kv) continue;
    const k = kv[1]!;
    const v = unquote(kv[2]!);
    const sec = (data[section] ??= {});
    sec[k] = k in sec ? `${sec[k]} | ${v}` : v;
    const path = section ? `${keySeg(keySeg('', section), k)}` : keySeg('', k);
    keys.set(path, keys.has(path) ? `${keys.get(path)} | ${v}` : v);
  }
  return { data, keys };
}

function parseEnv(text: string): Parsed {
  const data: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw);
    if (!m) continue;
    let v = m[2]!.trim();
    if (!/^["']/.test(v)) v = v.replace(/\s+#.*$/, '');
    data[m[1]!] = unquote(v);
  }
  return { data, keys: new Map(Object.entries(data)) };
}

/** sshd_config: `Keyword value` or `Keyword=value`; a `Match …` line opens a block until the next one. */
function parseSshd(text: string): Parsed {
  const data: Record<string, Record<string, string>> = {};
  const keys = new Map<string, string>();
  let scope = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!m) continue;
    const [, k, v] = m as unknown as [string, string, string];
    if (k.toLowerCase() === 'match') {
      scope = `Match[${v}]`;
      continue;
    }
    const sec = (data[scope] ??= {});
    sec[k] = k in sec ? `${sec[k]} | ${v}` : v;
    const path = scope ? `${scope}.${k}` : k;
    keys.set(path, keys.has(path) ? `${keys.get(path)} | ${v}` : v);
  }
  return { data, keys };
}

export interface NginxDirective {
  name: string;
  args: string[];
  block?: NginxDirective[];
}

function tokenizeNginx(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) i++;
    else if (c === '#') while (i < text.length && text[i] !== '\n') i++;
    else if (c === '{' || c === '}' || c === ';') {
      out.push(c);
      i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        s += text[j];
        j++;
      }
      if (j >= text.length) throw new Error('unterminated quote');
      out.push(`\u0000${s}`);
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s{};#]/.test(text[j]!)) j++;
      out.push(text.slice(i, j));
      i = j;
    }
  }
  return out;
}

/** nginx configuration as a tree of directives; throws on unbalanced braces or a missing `;`. */
export function parseNginxTree(text: string): NginxDirective[] {
  const tokens = tokenizeNginx(text);
  let pos = 0;
  const word = (t: string) => (t.startsWith('\u0000') ? t.slice(1) : t);
  const parseBlock = (nested: boolean): NginxDirective[] => {
    const list: NginxDirective[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos]!;
      if (t === '}') {
        if (!nested) throw new Error('unexpected }');
        pos++;
        return list;
      }
      if (t === '{' || t === ';') throw new Error(`unexpected ${t}`);
      const name = word(t);
      pos++;
      const args: string[] = [];
      while (pos < tokens.length && tokens[pos] !== ';' && tokens[pos] !== '{' && tokens[pos] !== '}') args.push(word(tokens[pos++]!));
      const end = tokens[pos];
      if (end === ';') {
        pos++;
        list.push({ name, args });
      } else if (end === '{') {
        pos++;
        list.push({ name, args, block: parseBlock(true) });
      } else throw new Error(`directive ${name} is not terminated`);
    }
    if (nested) throw new Error('missing }');
    return list;
  };
  return parseBlock(false);
}

/**
 * Key paths of an nginx tree: `http.server[server_name=example.com].listen`.
 * A server block is named by its first server_name (stable when listen
 * changes), else by its first listen; a location or upstream by its
 * arguments; equal labels of siblings get `#2`, `#3`. Repeated directives of
 * one block are one key, their values joined with " | ".
 */
export function flattenNginx(tree: readonly NginxDirective[], prefix = '', out = new Map<string, string>()): Map<string, string> {
  const seen = new Map<string, number>();
  for (const d of tree) {
    if (d.block) {
      let label = d.name;
      if (d.name === 'server') {
        const sn = d.block.find((x) => x.name === 'server_name' && x.args.length > 0);
        const li = d.block.find((x) => x.name === 'listen' && x.args.length > 0);
        if (sn) label = `server[server_name=${sn.args[0]}]`;
        else if (li) label = `server[listen=${li.args[0]}]`;
      } else if (d.args.length > 0) label = `${d.name}[${d.args.join(' ')}]`;
      const n = (seen.get(label) ?? 0) + 1;
      seen.set(label, n);
      if (n > 1) label = `${label}#${n}`;
      const path = prefix ? `${prefix}.${label}` : label;
      if (d.block.length === 0) out.set(path, '{}');
      flattenNginx(d.block, path, out);
    } else {
      const path = prefix ? `${prefix}.${d.name}` : d.name;
      const v = d.args.join(' ');
      out.set(path, out.has(path) ? `${out.get(path)} | ${v}` : v);
    }
  }
  return out;
}

/** Parses a known format; null when the type has no parser (text) or the content does not parse. */
export function parseConfig(type: ConfigType, text: string): Parsed | null {
  try {
    switch (type) {
      case 'yaml':
      case 'docker-compose': {
        const data: unknown = parseYaml(text, { uniqueKeys: false, merge: true, maxAliasCount: 100 });
        return { data: data ?? null, keys: flatten(data ?? null) };
      }
      case 'json': {
        const data: unknown = JSON.parse(text);
        return { data, keys: flatten(data) };
      }
      case 'ini':
        return parseIni(text, /^[;#]/);
      case 'systemd':
        return parseIni(text, /^[;#]/);
      case 'env':
        return parseEnv(text);
      case 'sshd_config':
        return parseSshd(text);
      case 'nginx': {
        const tree = parseNginxTree(text);
        return { data: tree, keys: flattenNginx(tree) };
      }
      case 'text':
        return null;
    }
  } catch {
    return null;
  }
}

/** Content without comment lines, blank lines and spacing differences (leading indentation kept where it means something). */
export function normalizeForComparison(type: ConfigType, text: string): string {
  const keepIndent = type === 'yaml' || type === 'docker-compose';
  const comment = type === 'ini' || type === 'systemd' ? /^\s*[#;]/ : /^\s*#/;
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !comment.test(l))
    .map((l) => {
      const body = (type === 'env' || type === 'text' ? l : l.replace(/\s+#.*$/, '')).trim().replace(/\s+/g, ' ');
      return keepIndent ? ' '.repeat(indentOf(l)) + body : body;
    })
    .join('\n');
}
