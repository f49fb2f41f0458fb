import type { IncomingMessage, ServerResponse } from 'node:http';
import { secretsEqual } from '../app/permission-policy';
import type { FallbackRequestHandler } from '../ddp/ddp-server';
import type { ServerMetrics } from './metrics-registry';

/**
 * `GET /metrics` in Prometheus text format, guarded by a bearer token
 * (`Authorization: Bearer $METRICS_TOKEN`), in front of the static files.
 *
 * - no token configured (`metrics` null): 404, as for any unknown path: the
 *   endpoint is off, nothing is computed, and nothing says it exists;
 * - missing or wrong token: 401 with `WWW-Authenticate: Bearer`;
 *   compared in constant time (secretsEqual, the monitor token's comparison);
 * - other methods than GET and HEAD: 405.
 *
 * Why a token rather than "open on loopback": behind a reverse proxy or a
 * sidecar on the same host every request comes from loopback, so the address
 * says nothing about who asks; and the metrics show load and fleet shape.
 */
export function metricsRoute(
  metrics: { server: ServerMetrics; token: string } | null,
  path: string,
  next: FallbackRequestHandler,
): FallbackRequestHandler {
  return (req, res) => {
    if ((req.url ?? '').split('?')[0] !== path) return next(req, res);
    if (!metrics) return answer(res, 404, 'Not found');
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'Method not allowed', { allow: 'GET, HEAD' });
    if (!secretsEqual(bearerToken(req), metrics.token)) {
      return answer(res, 401, 'Unauthorized', { 'www-authenticate': 'Bearer realm="metrics"' });
    }
    metrics.server.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.server.registry.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => answer(res, 500, 'Internal server error'),
    );
  };
}

/** The token of `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme is case-insensitive), or ''. */
function bearerToken(req: IncomingMessage): string {
  const match = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
  return match?.[1] ?? '';
}

function answer(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain', ...headers });
  res.end(text);
}
