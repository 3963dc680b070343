// Byte-level tokenizer: token = UTF-8 byte (vocabulary 256). Saved with the run so generation decodes the same way.
export interface Tokenizer {
  readonly kind: 'bytes';
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
  if (j && typeof j === 'object' && (j as { kind?: unknown }).kind === 'bytes') return byteTokenizer;
  throw new Error(`tokenizer.json: unsupported tokenizer ${JSON.stringify(j)}; this runtime knows {"kind":"bytes"}`);
}
