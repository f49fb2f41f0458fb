/** Counts an attack's failed attempts and keeps the first message, for the report. */
export class ErrorTally {
  count = 0;
  first: string | undefined;

  add(error: unknown): void {
    this.count++;
    this.first ??= error instanceof Error ? error.message || error.name : String(error);
  }
}
