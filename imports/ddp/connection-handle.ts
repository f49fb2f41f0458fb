/**
 * The public `connection` object handed to onConnection callbacks, methods
 * and publications, as Meteor builds it: `{id, clientAddress, httpHeaders,
 * close(), onClose(cb)}`.
 */
export interface ConnectionHandle {
  readonly id: string;
  readonly clientAddress: string | null;
  readonly httpHeaders: Record<string, string>;
  close(): void;
  onClose(callback: () => void): void;
}

/**
 * Only these request headers reach app code. It is the list sockjs@0.3.24
 * keeps (Meteor routes every DDP socket through sockjs); cookies and
 * authorization never appear.
 */
export const EXPOSED_HTTP_HEADERS = [
  'referer', 'x-client-ip', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-port',
  'x-cluster-client-ip', 'via', 'x-real-ip', 'x-forwarded-proto', 'x-ssl', 'dnt', 'host',
  'user-agent', 'accept-language',
] as const;

export function pickExposedHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const key of EXPOSED_HTTP_HEADERS) {
    const value = headers[key];
    if (typeof value === 'string' && value) picked[key] = value;
    else if (Array.isArray(value) && value.length) picked[key] = value.join(', ');
  }
  return picked;
}

/**
 * Meteor's _clientAddress: with HTTP_FORWARDED_COUNT = n > 0, the n-th
 * address from the end of X-Forwarded-For (the one our own first proxy saw),
 * so a client cannot spoof it by prepending entries; null when the header has
 * fewer hops than configured.
 */
export function resolveClientAddress(
  remoteAddress: string | null,
  headers: Record<string, string>,
  httpForwardedCount: number,
): string | null {
  if (!httpForwardedCount) return remoteAddress;
  const forwardedFor = headers['x-forwarded-for'];
  if (typeof forwardedFor !== 'string') return null;
  const hops = forwardedFor.trim().split(/\s*,\s*/);
  if (httpForwardedCount < 0 || httpForwardedCount > hops.length) return null;
  return hops[hops.length - httpForwardedCount] ?? null;
}
