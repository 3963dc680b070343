// Byte-level BPE: text is split into words (an optional leading space + a run of non-space bytes, or a run of
// whitespace), each word starts as its UTF-8 bytes (ids 0–255), and merges learned from pair counts add ids 256, 257,
// …. Training is deterministic (most frequent pair; ties → smallest (left, right) ids) and stops at the target
// vocabulary or when no pair occurs twice. Merges are saved with the run, so encode/decode are reproducible.
import type { Tokenizer } from './tokenizer.js';

const WORD = / ?[^\s]+|\s+/g;

function words(text: string): string[] {
  return text.match(WORD) ?? [];
}

export function trainBpe(text: string, vocabSize: number): [number, number][] {
  if (!Number.isInteger(vocabSize) || vocabSize < 256) throw new Error(`BPE vocabulary size must be an integer >= 256 (the bytes), got ${vocabSize}`);
  const freq = new Map<string, number>();
  for (const w of words(text)) freq.set(w, (freq.get(w) ?? 0) + 1);
  const seqs = [...freq.keys()].sort().map((w) => ({ ids: Array.from(Buffer.from(w, 'utf8')), n: freq.get(w)! }));
  const merges: [number, number][] = [];
  while (256 + merges.length < vocabSize) {
    const counts = new Map<number, number>();
    for (const { ids, n } of seqs) for (let i = 0; i + 1 < ids.length; i++) {
      const key = ids[i] * 65536 + ids[i + 1];
      counts.set(key, (counts.get(key) ?? 0) + n);
    }
    let best = -1;
    let bestN = 1;
    for (const [k, n] of counts) if (n > bestN || (n === bestN && best >= 0 && k < best)) [best, bestN] = [k, n];
    if (best < 0) break;
    const a = Math.floor(best / 65536);
    const b = best % 65536;
    const id = 256 + merges.length;
    merges.push([a, b]);
    for (const s of seqs) s.ids = mergePair(s.ids, a, b, id);
  }
  return merges;
}

function mergePair(ids: number[], a: number, b: number, id: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
      out.push(id);
      i++;
    } else out.push(ids[i]);
  }
  return out;
}

export function bpeTokenizer(merges: [number, number][]): Tokenizer {
  const rank = new Map<number, number>();
  merges.forEach(([a, b], r) => rank.set(a * 65536 + b, r));
  const bytesOf: Uint8Array[] = Array.from({ length: 256 }, (_, i) => Uint8Array.of(i));
  for (const [a, b] of merges) {
    if (a >= bytesOf.length || b >= bytesOf.length) throw new Error(`tokenizer.json: merge [${a}, ${b}] refers to an id not defined before it`);
    bytesOf.push(Uint8Array.from([...bytesOf[a], ...bytesOf[b]]));
  }
  const cache = new Map<string, number[]>();
  const encodeWord = (w: string): number[] => {
    let ids = cache.get(w);
    if (ids) return ids;
    ids = Array.from(Buffer.from(w, 'utf8'));
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = rank.get(ids[i] * 65536 + ids[i + 1]);
        if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
      }
      if (best < 0) break;
      ids = mergePair(ids, ids[best], ids[best + 1], 256 + bestRank);
    }
    cache.set(w, ids);
    return ids;
  };
  return {
    kind: 'bpe',
    vocabSize: 256 + merges.length,
    encode: (text) => Int32Array.from(words(text).flatMap(encodeWord)),
    decode: (ids) => Buffer.concat(Array.from(ids, (id) => {
      if (!(id >= 0 && id < bytesOf.length)) throw new Error(`decode: token ${id} is outside the vocabulary [0, ${bytesOf.length})`);
      return bytesOf[id];
    })).toString('utf8'),
    tokenBytes: (id) => bytesOf[id],
    toJSON: () => ({ kind: 'bpe', vocabSize: 256 + merges.length, merges }),
  };
}
