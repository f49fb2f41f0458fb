import type { Stats } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream';
import type { Logger } from '../log/logger';

/**
 * Serves the built dashboard (client/dist) for `npm start`, next to DDP on
 * the same HTTP server and under ROOT_URL's path: `<prefix>/` is index.html,
 * `<prefix>` redirects there, nothing outside the folder is ever served.
 *
 * Why this shape: the port faces anyone, so hostile input must cost a status
 * code, never a descriptor or the process. Every file goes out through
 * `stream.pipeline`, which destroys the file stream when the client leaves
 * early and hands every error to one callback (a bare `.pipe(res)` kept one
 * descriptor per aborted GET until EMFILE, then died on the unhandled error).
 *
 * Example: `ddp.attach(http, staticFiles('client/dist', '/app', { log }))`.
 *
 * Caveats: GET and HEAD only (405 otherwise); no ETag, Range or compression
 * (three small files, sent with `no-cache`); files are read from disk on each
 * request, so a rebuild needs no restart; symlinks inside the folder are
 * followed; Content-Length comes from the stat, so a file rewritten during
 * its own response (a rebuild) can spoil that one response; a read error
 * after the headers went out can only abort the response (a reset).
 */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
};

/**
 * The page loads only its own main.js and main.css (no inline script or
 * style) and speaks DDP over a WebSocket to its own host. `ws: wss:` because
 * only CSP Level 3 browsers let `'self'` match a WebSocket URL.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self' ws: wss:",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

/** On every response, the page's and the errors' alike: simpler than choosing, and harmless on the rest. */
export const SECURITY_HEADERS: Readonly<OutgoingHttpHeaders> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  // The dashboard is opened as `/?token=…`: without this, the token would
  // travel in the Referer of main.js and main.css (and of any link followed).
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  // frame-ancestors' predecessor, for browsers that ignore CSP.
  'x-frame-options': 'DENY',
};

export const ALLOWED_METHODS = 'GET, HEAD';

export interface StaticFilesOptions {
  /** Where unexpected file errors go (a client leaving early is not one). */
  log?: Logger;
}

type Target =
  | { kind: 'file'; path: string }
  | { kind: 'redirect'; location: string }
  | { kind: 'bad-request' }
  | { kind: 'not-found' };

export function staticFiles(root: string, pathPrefix = '', options: StaticFilesOptions = {}) {
  const rootDir = resolve(root);
  const { log } = options;
  const cache = new SmallFileCache();

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = locate(req.url ?? '/', rootDir, pathPrefix);
    if (target.kind === 'bad-request') return reply(res, 400);
    if (target.kind === 'not-found') return reply(res, 404);
    // Stat before the method check, so a missing path is 404 whatever the method.
    const info = target.kind === 'file' ? await stat(target.path).catch(() => null) : null;
    if (target.kind === 'file' && !info?.isFile()) return reply(res, 404);
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, { allow: ALLOWED_METHODS });
    if (target.kind === 'redirect') return reply(res, 301, { location: target.location });
    const headers = fileHeaders(target.path, info!);
    // HEAD answers from the stat alone: the file is never opened.
    if (req.method === 'HEAD') return void res.writeHead(200, headers).end();

    if (info!.size <= CACHED_FILE_MAX_BYTES) {
      // The page's few small files are kept in memory (refreshed when their
      // mtime or size changes): a request, aborted or not, then costs no
      // descriptor and no 64 KiB stream buffer (an aborted-GET flood grew RSS by 120 MB).
      const body = await cache.read(target.path, info!);
      return void res.writeHead(200, { ...headers, 'content-length': body.length }).end(body);
    }
    const file = await open(target.path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null; // removed since the stat
      throw error;
    });
    if (!file) return reply(res, 404);
    res.writeHead(200, headers);
    // Destroys the file stream (closing the descriptor) when `res` closes
    // early, and `res` when the read fails; nothing is left to throw.
    pipeline(file.createReadStream(), res, (error) => {
      if (error && (error as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
        log?.warn('Static file read failed', { path: target.path, error: error.message });
      }
    });
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    serve(req, res).catch((error: Error) => {
      log?.warn('Static file request failed', { url: req.url, error: error.message });
      if (res.headersSent) res.destroy();
      else reply(res, 500);
    });
  };
}

/** Files up to this size are served from memory (the dashboard's are a few KB to ~100 KB). */
const CACHED_FILE_MAX_BYTES = 512 * 1024;

class SmallFileCache {
  private readonly files = new Map<string, { mtimeMs: number; size: number; body: Buffer }>();

  async read(path: string, info: Stats): Promise<Buffer> {
    const cached = this.files.get(path);
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached.body;
    const body = await readFile(path);
    // Only what the stat promised is cached; a file rewritten meanwhile is read again next time.
    if (body.length === info.size) this.files.set(path, { mtimeMs: info.mtimeMs, size: info.size, body });
    return body;
  }
}

/** Maps a request URL to what to answer; pure, so every odd path is decided here before any I/O. */
function locate(url: string, rootDir: string, pathPrefix: string): Target {
  let parsed: URL;
  try {
    // Resolves `..` and `%2e%2e` segments; what remains is still percent-encoded.
    parsed = new URL(url, 'http://x');
  } catch {
    return { kind: 'bad-request' };
  }
  let path = parsed.pathname;
  if (pathPrefix) {
    // Matched before decoding, as the DDP transports match `<prefix>/websocket`.
    // Relative asset URLs (main.js) resolve wrong without the slash, so add it.
    if (path === pathPrefix) return { kind: 'redirect', location: `${pathPrefix}/${parsed.search}` };
    if (!path.startsWith(pathPrefix + '/')) return { kind: 'not-found' };
    path = path.slice(pathPrefix.length);
  }
  try {
    path = decodeURIComponent(path);
  } catch {
    return { kind: 'bad-request' }; // malformed percent-encoding or UTF-8
  }
  // NUL is never in a file name; decoded `%2f..` can still climb, hence the containment check.
  if (path.includes('\0')) return { kind: 'not-found' };
  if (path.endsWith('/')) path += 'index.html';
  const file = join(rootDir, path);
  return file.startsWith(rootDir + sep) ? { kind: 'file', path: file } : { kind: 'not-found' };
}

function fileHeaders(path: string, info: Stats): OutgoingHttpHeaders {
  return {
    ...SECURITY_HEADERS,
    'content-type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
    'content-length': info.size,
    'cache-control': 'no-cache',
  };
}

function reply(res: ServerResponse, status: number, headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(STATUS_CODES[status]);
}
