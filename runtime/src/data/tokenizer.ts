// Tokenizers: bytes (token = UTF-8 byte, vocabulary 256) or byte-level BPE (bpe.ts). Saved with the run as
// tokenizer.json so generation and resume encode and decode the same way.
import { bpeTokenizer } from './bpe.js';

export interface Tokenizer {
  readonly kind: 'bytes' | 'bpe';
  readonly vocabSize: number;
  encode(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
  toJSON(): object;
}

export const byteTokenizer: Tokenizer = {
  kind: 'bytes',
  vocabSize: 256,
  encode: (text) => Int32Array.from(Buffer.from(text, 'utf8')),
  decode: (ids) => Buffer.from(Uint8Array.from(Array.from(ids, (v) => v & 0xff))).toString('utf8'),
  toJSON: () => ({ kind: 'bytes', vocabSize: 256 }),
};

export function tokenizerFromJSON(j: unknown): Tokenizer {
  const t = (j ?? {}) as { kind?: unknown; merges?: unknown };
  if (t.kind === 'bytes') return byteTokenizer;
  if (t.kind === 'bpe' && Array.isArray(t.merges)) return bpeTokenizer(t.merges as [number, number][]);
  throw new Error(`tokenizer.json: unsupported tokenizer ${JSON.stringify(j).slice(0, 80)}; this runtime knows {"kind":"bytes"} and {"kind":"bpe","merges":[...]}`);
}
