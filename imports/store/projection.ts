import type { Projection } from './collection';

/**
 * Meteor's `fields` option for top-level keys: either all inclusions or all
 * exclusions (`_id` may be excluded in either). Dotted paths are refused
 * rather than half-supported. Returns the fields without `_id`, as
 * observeChanges reports them.
 */
export type FieldFilter = (doc: Record<string, unknown>) => Record<string, unknown>;

export function compileProjection(projection: Projection | undefined): FieldFilter {
  const entries = Object.entries(projection ?? {}).filter(([key]) => key !== '_id');
  for (const [key] of entries) if (key.includes('.')) throw new Error(`Nested projection '${key}' is not supported`);
  if (entries.length === 0) return withoutId;
  const including = entries.every(([, v]) => Boolean(v));
  const excluding = entries.every(([, v]) => !v);
  if (!including && !excluding) throw new Error('A projection cannot mix inclusion and exclusion');
  const keys = new Set(entries.map(([key]) => key));
  return including
    ? (doc) => {
        const out: Record<string, unknown> = {};
        for (const key of keys) if (key in doc) out[key] = doc[key];
        return out;
      }
    : (doc) => {
        const out: Record<string, unknown> = {};
        for (const key in doc) if (key !== '_id' && !keys.has(key)) out[key] = doc[key];
        return out;
      };
}

function withoutId(doc: Record<string, unknown>): Record<string, unknown> {
  const { _id, ...rest } = doc;
  return rest;
}
