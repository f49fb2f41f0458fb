import type { LineFormatter } from './logger';
import { safeJson } from './safe-json';

/**
 * LOG_FORMAT=pretty: `2024-05-01T12:00:00.000Z WARN Client mistake: parse error {"session":"a1"}`.
 * A built-in formatter rather than pino-pretty, so reading logs at a
 * terminal adds no runtime dependency. Tests' capture logger matches on it.
 */
export const prettyLineFormatter: LineFormatter = (level, message, context) => {
  const suffix = context && Object.keys(context).length ? ' ' + safeJson(context) : '';
  return `${new Date().toISOString()} ${level.toUpperCase()} ${escapeControlCharacters(message + suffix)}`;
};

/**
 * Messages may embed client input (a sub id, a method name); escaping control
 * characters and line separators keeps one event on one line, so a client
 * cannot forge log lines (or send escape sequences to an operator's terminal).
 * JSON escapes the context's C0 characters, but not DEL or U+2028/2029.
 */
export function escapeControlCharacters(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}
