/**
 * The web dashboard, bundled when Opsdeck starts: esbuild turns web/src/main.tsx
 * (Preact + uPlot) into minified ES modules split by area — the entry (shell, login,
 * overview, nodes, alerts), one chunk per area loaded on demand (mail, alerting set-up,
 * home lab, agents) and shared chunks as esbuild cuts them — and one CSS file with every
 * page's styles, all with content-hashed names, kept in memory with their gzip and
 * brotli forms, and an index.html that loads the CSS and the entry and preloads the
 * entry's static imports. Nothing is built ahead or committed
 * (docs/adr/0024-web-dashboard.md).
 *
 * Infrastructure: imports no feature module. `dashboardRoutes` serves `/` and
 * `/assets/:name`; `servePage` answers the client-side routes (any other GET that
 * asks for HTML outside /api, /docs and /assets) from the app's not-found handler.
 */
import { createHash } from 'node:crypto';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import type { BuildOptions } from 'esbuild';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { acceptsEncoding } from '../http/encoding.ts';
import { rootPath } from '../paths.ts';

/** Content-Security-Policy of the dashboard's pages: same-origin scripts, styles, images and requests only; no inline code. */
export const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Hashed assets never change under their name: caches keep them a year. */
export const ASSET_CACHE = 'public, max-age=31536000, immutable';
/** index.html is checked every time (it names the current assets). */
export const PAGE_CACHE = 'no-cache';

export interface Encoded {
  type: string;
  identity: Buffer;
  gzip: Buffer;
  br: Buffer;
  etag: string;
}

export interface Dashboard {
  /** index.html */
  page: Encoded;
  /** file name (e.g. main-3F2A1B.js, mail-5D0C9E11.js, chunk-7A4B2C3D.js) → asset */
  assets: ReadonlyMap<string, Encoded>;
  /** The entry module's file name. */
  entry: string;
  /** The chunks the entry imports statically (index.html preloads them). */
  preload: string[];
}

const WEB_ROOT = rootPath('web');

function encode(type: string, body: Buffer): Encoded {
  return {
    type,
    identity: body,
    gzip: gzipSync(body, { level: 9 }),
    br: brotliCompressSync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length } }),
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
  };
}

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

async function bundle(root: string): Promise<Dashboard> {
  // Loaded on first use: a process that serves no dashboard never loads esbuild.
  const { build, stop } = await import('esbuild');
  const common: BuildOptions & { write: false } = {
    absWorkingDir: root,
    entryPoints: ['src/main.tsx'],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: 'tsconfig.json',
    outdir: 'assets',
    entryNames: '[name]-[hash]',
    chunkNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  };
  // The JS split by area. esbuild also cuts the CSS by area then, but a chunk's CSS is not
  // loaded by its JS; the styles come from an unsplit build instead: one CSS file, every page.
  const [split, whole] = await Promise.all([build({ ...common, splitting: true, metafile: true }), build(common)]).finally(() =>
    // The bundle is built once: end esbuild's service process (11–33 MB idle) instead of keeping it;
    // a later esbuild call starts a new one.
    stop(),
  );
  const assets = new Map<string, Encoded>();
  const add = (path: string, contents: Uint8Array): string => {
    const name = path.slice(path.lastIndexOf('/') + 1);
    assets.set(name, encode(TYPES[name.slice(name.lastIndexOf('.'))]!, Buffer.from(contents)));
    return name;
  };
  const css = whole.outputFiles.filter((f) => f.path.endsWith('.css')).map((f) => add(f.path, f.contents));
  for (const f of split.outputFiles) if (f.path.endsWith('.js')) add(f.path, f.contents);
  const outputs = Object.entries(split.metafile.outputs);
  const entry = outputs.find(([p, o]) => o.entryPoint === 'src/main.tsx' && p.endsWith('.js'));
  if (!entry || css.length !== 1) throw new Error('the dashboard bundle lacks its entry JS or its CSS file');
  const js = entry[0].slice(entry[0].lastIndexOf('/') + 1);
  // What the entry imports statically is fetched right away: preloaded beside it, not after it.
  const preload = entry[1].imports.filter((i) => i.kind === 'import-statement').map((i) => i.path.slice(i.path.lastIndexOf('/') + 1));
  const html =
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">' +
    '<meta name="color-scheme" content="dark light"><title>Opsdeck</title><link rel="icon" href="data:,">' +
    `<link rel="stylesheet" href="/assets/${css[0]}"><script type="module" src="/assets/${js}"></script>` +
    preload.map((p) => `<link rel="modulepreload" href="/assets/${p}">`).join('') +
    '</head><body><div id="app"><noscript>The Opsdeck dashboard needs JavaScript; the API is at /docs.</noscript></div></body></html>';
  return { page: encode('text/html; charset=utf-8', Buffer.from(html)), assets, entry: js, preload };
}

const bundles = new Map<string, Promise<Dashboard>>();

/** Bundles the dashboard (once per process and source folder; later runtimes reuse it). */
export function loadDashboard(root: string = WEB_ROOT): Promise<Dashboard> {
  let p = bundles.get(root);
  if (!p) {
    p = bundle(root);
    p.catch(() => bundles.delete(root));
    bundles.set(root, p);
  }
  return p;
}

/** Sends one of the precompressed forms the client accepts. */
function sendEncoded(req: FastifyRequest, reply: FastifyReply, e: Encoded, cache: string): FastifyReply {
  const accept = req.headers['accept-encoding'];
  reply.header('vary', 'accept-encoding').header('cache-control', cache).header('etag', e.etag).type(e.type);
  if (req.headers['if-none-match'] === e.etag) return reply.code(304).send();
  if (acceptsEncoding(accept, 'br')) return reply.header('content-encoding', 'br').send(e.br);
  if (acceptsEncoding(accept, 'gzip')) return reply.header('content-encoding', 'gzip').send(e.gzip);
  return reply.send(e.identity);
}

/** index.html with the page CSP. */
export function sendPage(dashboard: Dashboard, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply.header('content-security-policy', PAGE_CSP);
  return sendEncoded(req, reply, dashboard.page, PAGE_CACHE);
}

/** True for a request of a client-side route: GET/HEAD asking for HTML, outside the API, the docs and the assets. */
export function isPageRequest(req: Pick<FastifyRequest, 'method' | 'url' | 'headers'>): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (!String(req.headers.accept ?? '').includes('text/html')) return false;
  const path = req.url.split('?')[0]!;
  return !/^\/(api|docs|assets|openapi\.json|metrics|health|ready)(\/|$)/.test(path);
}

/** An asset by its hashed name, or undefined. */
export function assetOf(dashboard: Dashboard, name: string): Encoded | undefined {
  return dashboard.assets.get(name);
}

export function sendAsset(req: FastifyRequest, reply: FastifyReply, asset: Encoded): FastifyReply {
  return sendEncoded(req, reply, asset, ASSET_CACHE);
}
