import { randomInt } from 'node:crypto';

/**
 * Meteor's `Random.id()`: 17 characters from the "unmistakable" alphabet
 * (no 0/1/O/I/l/V/U look-alikes), drawn from a CSPRNG. Session ids must be
 * unguessable because they identify a connection to `getSessionId` callers.
 */
export const UNMISTAKABLE_CHARS = '23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz';
export const RANDOM_ID_LENGTH = 17;

export function randomId(length: number = RANDOM_ID_LENGTH): string {
  let id = '';
  for (let i = 0; i < length; i++) id += UNMISTAKABLE_CHARS[randomInt(UNMISTAKABLE_CHARS.length)];
  return id;
}
