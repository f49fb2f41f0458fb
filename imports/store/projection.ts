import type { Projection } from './collection';

/**
 * Meteor's `fields` option for top-level keys: either all inclusions or all
 * exclusions. As Minimongo's projectionDetails: `_id: 0` may stand in
 * either; `_id: 1` is an inclusion, so `{ _id: 1 }` alone selects no other
 * field and `{ _id: 1, a: 0 }` is a mix (refused). Dotted paths are refused
 * rather than half-supported. Returns the fields without `_id`, as
 * observeChanges reports them; only a document's own fields are copied.
 */
export type FieldFilter = (doc: Record<string, unknown>) => Record<string, unknown>;

export function compileProjection(projection: Projection | undefined): FieldFilter {
  const entries = Object.entries(projection ?? {}).filter(([key]) => key !== '_id');
  for (const [key] of entries) if (key.includes('.')) throw new Error(`Nested projection '${key}' is not supported`);
  const includesId = Boolean(projection?._id);
  if (entries.length === 0) return includesId ? noFields : withoutId;
  const including = entries.every(([, v]) => Boolean(v));
  const excluding = entries.every(([, v]) => !v) && !includesId;
  if (!including && !excluding) throw new Error('A projection cannot mix inclusion and exclusion');
  const keys = new Set(entries.map(([key]) => key));
  return including
    ? (doc) => {
        const out: Record<string, unknown> = {};
        for (const key of keys) if (Object.hasOwn(doc, key)) out[key] = doc[key];
        return out;
      }
    : (doc) => {
        const out: Record<string, unknown> = {};
        for (const key in doc) if (key !== '_id' && !keys.has(key)) out[key] = doc[key];
        return out;
      };
}

function noFields(): Record<string, unknown> {
  return {};
}

function withoutId(doc: Record<string, unknown>): Record<string, unknown> {
  const { _id, ...rest } = doc;
  return rest;
}
