import { randomInt } from 'node:crypto';

/**
 * Meteor's `Random.id()`: 17 characters from the "unmistakable" alphabet
 * (no 0/1/O/I/l/V/U look-alikes), drawn from a CSPRNG. Session ids must be
 * unguessable because they identify a connection to `getSessionId` callers.
 * Built with String.fromCharCode so the result is one flat string, not a
 * rope of concatenations (a session keeps its id for its whole life).
 */
export const UNMISTAKABLE_CHARS = '23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz';
const RANDOM_ID_LENGTH = 17;

export function randomId(length: number = RANDOM_ID_LENGTH): string {
  const codes = new Array<number>(length);
  for (let i = 0; i < length; i++) codes[i] = UNMISTAKABLE_CHARS.charCodeAt(randomInt(UNMISTAKABLE_CHARS.length));
  return String.fromCharCode(...codes);
}
