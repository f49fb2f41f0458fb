import Bowser from 'bowser';

/**
 * A user agent as people read it: "Chrome 150 · Linux", parsed by bowser
 * (maintained, ~25 KB, no dependencies). The raw string stays available: the
 * table puts it in the cell's title and the details panel shows it in full.
 *
 * Why a cache: a fleet has few distinct user agents and a row is redrawn
 * whenever it scrolls into view, so each distinct string is parsed once.
 * The cache is bounded (`USER_AGENT_CACHE_ENTRIES`), because user agents come from
 * clients and may be anything.
 *
 * Example: describeUserAgent('Mozilla/5.0 (X11; Linux x86_64) … Chrome/150.0.0.0 …') → 'Chrome 150 · Linux'
 */
/** Distinct user agents remembered; beyond it the oldest is forgotten. */
export const USER_AGENT_CACHE_ENTRIES = 500;
const cache = new Map<string, string>();

/** How many parsed user agents are cached (for tests). */
export function cachedUserAgents(): number {
  return cache.size;
}

export function describeUserAgent(userAgent: string | undefined): string {
  if (!userAgent) return '–';
  let described = cache.get(userAgent);
  if (described === undefined) {
    described = parse(userAgent);
    if (cache.size >= USER_AGENT_CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
    cache.set(userAgent, described);
  }
  return described;
}

function parse(userAgent: string): string {
  try {
    const { browser, os } = Bowser.parse(userAgent);
    const name = browser.name ? [browser.name, browser.version?.split('.')[0]].filter(Boolean).join(' ') : '';
    const system = os.name ? [os.name, os.versionName ?? os.version].filter(Boolean).join(' ') : '';
    // Not a browser bowser knows (a DDP client library, a bot): the raw string, truncated by CSS.
    if (!name && !system) return userAgent;
    return [name || 'Unknown browser', system || 'unknown OS'].join(' · ');
  } catch {
    return userAgent;
  }
}
