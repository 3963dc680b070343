// Incremental detokenisation: token ids in, text out as soon as it is whole. Every tokenizer is byte-level (a token is
// a run of UTF-8 bytes, data/tokenizer.ts), so the bytes of each token go through a streaming UTF-8
// decoder, which holds back a character until its last byte has arrived: a chunk never ends in half a character, and
// the concatenated chunks equal the tokenizer's decode of all ids. Invalid bytes become U+FFFD, as decode makes them.
import type { Tokenizer } from '../../data/tokenizer.js';

/** id → its bytes, for every kind of tokenizer (all are byte-level). */
export function tokenBytesTable(t: Tokenizer): Uint8Array[] {
  return Array.from({ length: t.vocabSize }, (_, id) => t.tokenBytes(id) ?? new Uint8Array(0));
}

export class IncrementalDetokenizer {
  private readonly utf8 = new TextDecoder('utf-8', { fatal: false });

  constructor(private readonly table: Uint8Array[]) {}

  /** Text completed by this token ('' while a character is still incomplete). Throws on an id outside the vocabulary. */
  push(id: number): string {
    const bytes = this.table[id];
    if (!Number.isInteger(id) || bytes === undefined) throw new Error(`token ${id} is outside the vocabulary [0, ${this.table.length})`);
    return this.utf8.decode(bytes, { stream: true });
  }

  /** At the end: the bytes of an unfinished character, as U+FFFD. */
  flush(): string {
    return this.utf8.decode();
  }
}
