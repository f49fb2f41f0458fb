/**
 * MongoID.idStringify for the id types this server supports (strings, numbers):
 * how a document id is written in `added`/`changed`/`removed` frames.
 * Strings that could be mistaken for other encodings get a '-' prefix.
 */
export function idStringify(id: unknown): string {
  if (typeof id === 'string') {
    if (id === '') return id;
    const first = id.charAt(0);
    const looksLikeObjectId = id.length === 24 && /^[0-9a-f]*$/.test(id);
    return first === '-' || first === '~' || first === '{' || looksLikeObjectId ? `-${id}` : id;
  }
  if (id === undefined) return '-';
  if (typeof id === 'object' && id !== null) throw new Error('Only string and number document ids are supported');
  return `~${JSON.stringify(id)}`;
}
