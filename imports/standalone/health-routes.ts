import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readiness } from './readiness';

/**
 * `/healthz` and `/readyz` for load balancers and Kubernetes probes, in front
 * of the dashboard's static files.
 *
 * - `/healthz` (liveness): 200 while the process serves HTTP at all; it
 *   stays 200 during a drain, so the orchestrator does not kill a process
 *   that is leaving on purpose.
 * - `/readyz` (readiness): 200 `{"ready":true}`, or 503
 *   `{"ready":false,"reasons":[...]}` (readiness.ts), e.g. while draining.
 *
 * Both answer at the root and under ROOT_URL's path (probes usually hit the
 * pod directly, without the prefix a proxy adds). Bodies are tiny JSON, never
 * cached.
 *
 * Example: `ddp.attach(http, healthRoutes(() => app.readiness(), staticFiles(root, prefix)))`.
 */
type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function healthRoutes(probe: () => Readiness, next: RequestHandler, pathPrefix = ''): RequestHandler {
  const paths = new Map<string, 'live' | 'ready'>([
    ['/healthz', 'live'],
    ['/readyz', 'ready'],
  ]);
  if (pathPrefix) for (const [path, kind] of [...paths]) paths.set(pathPrefix + path, kind);
  return (req, res) => {
    const kind = paths.get((req.url ?? '').split('?')[0]!);
    if (!kind) return next(req, res);
    if (kind === 'live') return reply(req, res, 200, { status: 'ok' });
    const state = probe();
    reply(req, res, state.ready ? 200 : 503, state.ready ? { ready: true } : { ready: false, reasons: state.reasons });
  };
}

function reply(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : text);
}
