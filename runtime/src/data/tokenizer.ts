// Tokenizers: bytes (token = UTF-8 byte, vocabulary 256), our byte-level BPE (bpe.ts), or a byte-level BPE in
// HuggingFace's format (hf-tokenizer.ts: what exports carry and what published checkpoints ship). Saved with the run
// as tokenizer.json so generation and resume encode and decode the same way. Every kind is byte-level: a token is a
// run of bytes (tokenBytes), which incremental detokenisation relies on.
import { bpeTokenizer } from './bpe.js';
import { CHAT_SPECIALS } from './chat-template.js';
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

/** The special strings a tokenizer of ours (bytes or BPE) gives ids to, after its base vocabulary (its toJSON's "special"). */
export function specialsOf(t: Tokenizer): readonly string[] {
  const j = t.toJSON() as { special?: unknown };
  return t.kind !== 'hf' && Array.isArray(j.special) ? (j.special as string[]) : [];
}

/**
 * `base` with the chat template's special tokens (chat-template.ts) as ids base.vocabSize.. when the model's vocabulary
 * has room for them; otherwise `base` itself (the specials are then encoded as their bytes). Encoding cuts the
 * special strings out of the text first, as HuggingFace's added tokens do; the export writes them as added tokens.
 */
export function withChatTokens(base: Tokenizer, modelVocab: number): Tokenizer {
  if (base.kind === 'hf' || specialsOf(base).length > 0 || modelVocab < base.vocabSize + CHAT_SPECIALS.length) return base;
  return withSpecials(base, CHAT_SPECIALS);
}

function withSpecials(base: Tokenizer, specials: readonly string[]): Tokenizer {
  const first = base.vocabSize;
  const ids = new Map(specials.map((s, i) => [s, first + i]));
  const bytes = specials.map((s) => Uint8Array.from(Buffer.from(s, 'utf8')));
  const re = new RegExp(specials.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'gu');
  return {
    kind: base.kind,
    vocabSize: first + specials.length,
    encode(text) {
      const parts: Int32Array[] = [];
      let at = 0;
      for (const m of text.matchAll(re)) {
        if (m.index > at) parts.push(base.encode(text.slice(at, m.index)));
        parts.push(Int32Array.of(ids.get(m[0])!));
        at = m.index + m[0].length;
      }
      if (at === 0) return base.encode(text);
      if (at < text.length) parts.push(base.encode(text.slice(at)));
      const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.length;
      }
      return out;
    },
    decode: (idList) => Buffer.concat(Array.from(idList, (id) => id >= first && id < first + specials.length ? bytes[id - first] : base.tokenBytes(id) ?? new Uint8Array(0))).toString('utf8'),
    tokenBytes: (id) => (id >= first && id < first + specials.length ? bytes[id - first] : base.tokenBytes(id)),
    toJSON: () => ({ ...base.toJSON(), special: [...specials] }),
  };
}

/** The id of a special string when the tokenizer has it as one token (a chat-token tokenizer, HF added tokens). */
export function specialId(t: Tokenizer, s: string): number | undefined {
  const ids = t.encode(s);
  return ids.length === 1 && ids[0] >= 0 ? ids[0] : undefined;
}

export function tokenizerFromJSON(j: unknown): Tokenizer {
  const t = (j ?? {}) as { kind?: unknown; merges?: unknown; model?: unknown; special?: unknown };
  if ((t.kind === 'bytes' || t.kind === 'bpe') && t.special !== undefined) {
    if (!Array.isArray(t.special) || !t.special.every((s) => typeof s === 'string' && s !== '')) throw new Error('tokenizer.json: "special" must be an array of non-empty strings');
    const { special, ...base } = t;
    return withSpecials(tokenizerFromJSON(base), special as string[]);
  }
  if (t.kind === 'bytes') return byteTokenizer;
  if (t.kind === 'bpe' && Array.isArray(t.merges)) return bpeTokenizer(t.merges as [number, number][]);
  if (t.model && typeof t.model === 'object') return hfTokenizerFromJSON(j as Record<string, unknown>);
  throw new Error(`tokenizer.json: unsupported tokenizer ${JSON.stringify(j).slice(0, 80)}; this runtime knows HuggingFace's format (a "model" object), {"kind":"bytes"} and {"kind":"bpe","merges":[...]}`);
}
