import type { IncomingMessage } from 'node:http';

/**
 * Which web pages may open DDP connections from a browser.
 *
 * Why: a browser attaches the page's `Origin` to every WebSocket handshake
 * and every cross-origin SockJS request, and sockjs@0.3.24 answers any Origin
 * with `Access-Control-Allow-Credentials: true`. With `allowedOrigins` set,
 * a request whose Origin is not listed is refused (403) before any transport
 * sees it, so a foreign page can neither open a socket nor read a SockJS
 * response (cross-site WebSocket hijacking).
 * Example: `allowedOrigins: ['https://app.example.com']`.
 * Caveat: the default (empty) allows every origin, as Meteor does: Cordova
 * apps and Meteor clients served from another origin rely on it. Requests
 * without an Origin header (non-browser clients) are always allowed; this is
 * not authentication.
 */
export function isOriginAllowed(req: IncomingMessage, allowedOrigins: readonly string[]): boolean {
  if (allowedOrigins.length === 0) return true;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return allowedOrigins.includes(origin.toLowerCase());
}
