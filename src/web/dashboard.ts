/**
 * The web dashboard, bundled when Opsdeck starts: esbuild turns web/src/main.tsx
 * (Preact + uPlot) into one minified JS and one CSS file with content-hashed names,
 * kept in memory with their gzip and brotli forms, and an index.html that loads
 * them. Nothing is built ahead or committed (docs/adr/0024-web-dashboard.md).
 *
 * Infrastructure: imports no feature module. `dashboardRoutes` serves `/` and
 * `/assets/:name`; `servePage` answers the client-side routes (any other GET that
 * asks for HTML outside /api, /docs and /assets) from the app's not-found handler.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';

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
  /** file name (e.g. main-3F2A1B.js) → asset */
  assets: ReadonlyMap<string, Encoded>;
}

const WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));

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
  const { build } = await import('esbuild');
  const result = await build({
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
    assetNames: '[name]-[hash]',
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const assets = new Map<string, Encoded>();
  let js = '';
  let css = '';
  for (const f of result.outputFiles) {
    const name = f.path.slice(f.path.lastIndexOf('/') + 1);
    const ext = name.slice(name.lastIndexOf('.'));
    const type = TYPES[ext];
    if (!type) continue;
    assets.set(name, encode(type, Buffer.from(f.contents)));
    if (ext === '.js') js = name;
    else css = name;
  }
  if (!js || !css) throw new Error('the dashboard bundle lacks its JS or CSS file');
  const html =
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">' +
    '<meta name="color-scheme" content="dark light"><title>Opsdeck</title><link rel="icon" href="data:,">' +
    `<link rel="stylesheet" href="/assets/${css}"><script type="module" src="/assets/${js}"></script></head>` +
    '<body><div id="app"><noscript>The Opsdeck dashboard needs JavaScript; the API is at /docs.</noscript></div></body></html>';
  return { page: encode('text/html; charset=utf-8', Buffer.from(html)), assets };
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
  const accept = String(req.headers['accept-encoding'] ?? '');
  reply.header('vary', 'accept-encoding').header('cache-control', cache).header('etag', e.etag).type(e.type);
  if (req.headers['if-none-match'] === e.etag) return reply.code(304).send();
  if (/\bbr\b/.test(accept)) return reply.header('content-encoding', 'br').send(e.br);
  if (/\bgzip\b/.test(accept)) return reply.header('content-encoding', 'gzip').send(e.gzip);
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
