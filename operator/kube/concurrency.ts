// Pure control flow: run an async function over items with at most `limit` calls in flight (the reconcilers' pod
// creates, gate releases and deletes).

/** Calls `fn` on every item, at most `limit` at once; rejects with the first error (calls already started run on). */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < items.length) await fn(items[i++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
