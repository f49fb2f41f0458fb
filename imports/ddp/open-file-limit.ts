import { readFileSync } from 'node:fs';

/**
 * The process's open-file limit (RLIMIT_NOFILE, soft), which every socket,
 * file, pipe and broker connection counts against. The DDP server's automatic
 * `maxSockets` is derived from it so that accepting one more client can never
 * make an `accept()` or an `open()` fail with EMFILE.
 *
 * Example: `automaticMaxSockets(readOpenFileLimit().limit, 512)` → 19,488 at
 * `ulimit -n 20000`.
 *
 * Caveats: Node has no API for getrlimit, so this reads Linux's
 * `/proc/self/limits`; elsewhere (macOS, Windows) it falls back to
 * FALLBACK_OPEN_FILE_LIMIT and says so in `source`. A limit raised after
 * startup (prlimit) is not seen.
 */
export interface OpenFileLimit {
  /** Soft limit on open file descriptors; Infinity when the kernel reports "unlimited". */
  readonly limit: number;
  readonly source: 'proc' | 'fallback';
  /** Why the fallback was used. */
  readonly reason?: string;
}

/** The usual default soft limit on Linux and the lowest common one elsewhere that still serves a few hundred clients. */
export const FALLBACK_OPEN_FILE_LIMIT = 1024;

/** The soft "Max open files" limit from the text of `/proc/<pid>/limits`, or null if the line is missing or unreadable. */
export function parseMaxOpenFiles(limitsText: string): number | null {
  // "Max open files            20000                20000                files     "
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limitsText);
  if (!match) return null;
  const soft = match[1]!;
  if (soft === 'unlimited') return Number.POSITIVE_INFINITY;
  return /^\d+$/.test(soft) ? Number(soft) : null;
}

export function readOpenFileLimit(
  readLimits: () => string = () => readFileSync('/proc/self/limits', 'utf8'),
): OpenFileLimit {
  let text: string;
  try {
    text = readLimits();
  } catch (error) {
    return { limit: FALLBACK_OPEN_FILE_LIMIT, source: 'fallback', reason: (error as Error).message };
  }
  const limit = parseMaxOpenFiles(text);
  if (limit === null || limit <= 0) {
    return { limit: FALLBACK_OPEN_FILE_LIMIT, source: 'fallback', reason: 'no "Max open files" line' };
  }
  return { limit, source: 'proc' };
}

/**
 * The socket cap when `maxSockets` is 0: the limit less the headroom kept for
 * everything else, but never less than half the limit, so a small limit
 * (macOS's 256, or the fallback) still serves clients.
 */
export function automaticMaxSockets(openFileLimit: number, headroom: number): number {
  if (!Number.isFinite(openFileLimit)) return Number.POSITIVE_INFINITY;
  return Math.max(Math.floor(openFileLimit / 2), openFileLimit - Math.max(0, headroom));
}
