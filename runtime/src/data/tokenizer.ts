// Tokenizers: bytes (token = UTF-8 byte, vocabulary 256), our byte-level BPE (bpe.ts), or a byte-level BPE in
// HuggingFace's format (hf-tokenizer.ts: what exports carry and what published checkpoints ship). Saved with the run
// as tokenizer.json so generation and resume encode and decode the same way. Every kind is byte-level: a token is a
// run of bytes (tokenBytes), which incremental detokenisation relies on.
import { bpeTokenizer } from './bpe.js';
import { hfTokenizerFromJSON } from './hf-tokenizer.js';

export interface Tokenizer {
  readonly kind: 'bytes' | 'bpe' | 'hf';
  readonly vocabSize: number;
  encode(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
  /** The bytes token `id` stands for (undefined outside the vocabulary). */
  tokenBytes(id: number): Uint8Array | undefined;
  toJSON(): object;
}

export const byteTokenizer: Tokenizer = {
  kind: 'bytes',
  vocabSize: 256,
  encode: (text) => Int32Array.from(Buffer.from(text, 'utf8')),
  decode: (ids) => Buffer.from(Uint8Array.from(Array.from(ids, (v) => v & 0xff))).toString('utf8'),
  tokenBytes: (id) => (Number.isInteger(id) && id >= 0 && id < 256 ? Uint8Array.of(id) : undefined),
  toJSON: () => ({ kind: 'bytes', vocabSize: 256 }),
};

export function tokenizerFromJSON(j: unknown): Tokenizer {
  const t = (j ?? {}) as { kind?: unknown; merges?: unknown; model?: unknown };
  if (t.kind === 'bytes') return byteTokenizer;
  if (t.kind === 'bpe' && Array.isArray(t.merges)) return bpeTokenizer(t.merges as [number, number][]);
  if (t.model && typeof t.model === 'object') return hfTokenizerFromJSON(j as Record<string, unknown>);
  throw new Error(`tokenizer.json: unsupported tokenizer ${JSON.stringify(j).slice(0, 80)}; this runtime knows HuggingFace's format (a "model" object), {"kind":"bytes"} and {"kind":"bpe","merges":[...]}`);
}
