// Byte-level BPE tokenizers in HuggingFace's tokenizer.json format (what `tokenizers` and transformers'
// `save_pretrained` write, and what DeepSeek-V3's release ships), both ways. Pure: JSON in, Tokenizer or JSON out.
//
// Encoding follows the `tokenizers` pipeline: added tokens are cut out of the text first; each remaining piece goes
// through the pre-tokenizers (Split by regex, ByteLevel, Digits), every byte becomes its GPT-2 stand-in character,
// and the BPE model merges pairs lowest rank first. Parts of the format this code does not implement (a normaliser,
// WordPiece, byte_fallback, …) are refused by name, never ignored, so a loaded tokenizer encodes as the original does.
import type { Tokenizer } from './tokenizer.js';

/** GPT-2's byte → printable character map (ByteLevel), and its inverse. */
const BYTE_CHAR: string[] = (() => {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const out: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + n++);
  return out;
})();
const CHAR_BYTE = new Map(BYTE_CHAR.map((c, b) => [c, b]));

/** GPT-2's split, which ByteLevel applies when `use_regex` is true. */
const GPT2_SPLIT = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** The pre-tokenisation our own BPE (bpe.ts) uses: an optional space and a run of non-space, or a run of space. */
export const OWN_SPLIT = ' ?[^\\s]+|\\s+';

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

type Json = Record<string, unknown>;
type PreTokenizer = (pieces: string[]) => string[];

function fail(field: string, msg: string): never {
  throw new Error(`tokenizer.json: ${field}: ${msg}`);
}

/** `s` as a regular expression that matches exactly it. */
const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function regexOf(pattern: unknown, field: string): RegExp {
  const p = pattern as { Regex?: unknown; String?: unknown } | undefined;
  const src = typeof p?.Regex === 'string' ? p.Regex : typeof p?.String === 'string' ? escapeRegex(p.String) : undefined;
  if (src === undefined) fail(field, `expected {"Regex": …} or {"String": …}, got ${JSON.stringify(pattern)}`);
  try {
    return new RegExp(jsRegex(src), 'gu');
  } catch (e) {
    return fail(field, `the pattern ${JSON.stringify(src)} is not a regular expression this runtime can run: ${(e as Error).message}`);
  }
}

/** Oniguruma (what `tokenizers` runs) lets any punctuation be escaped; JavaScript's Unicode mode allows it only for
 *  syntax characters, so the others become code-point escapes with the same meaning. */
function jsRegex(src: string): string {
  return src.replace(/\\(.)/gsu, (m, c: string) => (/[!-/:-@[-`{-~]/.test(c) && !'^$\\.*+?()[]{}|/-'.includes(c) ? `\\u{${c.codePointAt(0)!.toString(16)}}` : m));
}

/** Splits one piece at the regex's matches, keeping the pieces the behaviour keeps (tokenizers' SplitDelimiterBehavior). */
function splitPiece(s: string, re: RegExp, behavior: string): string[] {
  const spans: { text: string; match: boolean }[] = [];
  let at = 0;
  for (const m of s.matchAll(re)) {
    if (m[0] === '') continue;
    if (m.index > at) spans.push({ text: s.slice(at, m.index), match: false });
    spans.push({ text: m[0], match: true });
    at = m.index + m[0].length;
  }
  if (at < s.length) spans.push({ text: s.slice(at), match: false });
  const out: string[] = [];
  for (let i = 0; i < spans.length; i++) {
    const sp = spans[i];
    if (behavior === 'Isolated') out.push(sp.text);
    else if (behavior === 'Removed') { if (!sp.match) out.push(sp.text); }
    else if (behavior === 'MergedWithPrevious') {
      if (sp.match && out.length > 0 && !spans[i - 1].match) out[out.length - 1] += sp.text;
      else out.push(sp.text);
    } else if (behavior === 'MergedWithNext') {
      if (sp.match && i + 1 < spans.length && !spans[i + 1].match) { out.push(sp.text + spans[i + 1].text); i++; }
      else out.push(sp.text);
    } else if (behavior === 'Contiguous') {
      if (sp.match && i > 0 && spans[i - 1].match) out[out.length - 1] += sp.text;
      else out.push(sp.text);
    }
  }
  return out;
}

const BEHAVIORS = ['Isolated', 'Removed', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

function preTokenizer(j: unknown, field: string): PreTokenizer {
  if (j === null || j === undefined) return (p) => p;
  const t = j as Json;
  switch (t.type) {
    case 'Sequence': {
      const list = t.pretokenizers;
      if (!Array.isArray(list)) fail(`${field}.pretokenizers`, 'expected a list');
      const steps = list.map((x, i) => preTokenizer(x, `${field}.pretokenizers[${i}]`));
      return (p) => steps.reduce((acc, f) => f(acc), p);
    }
    case 'Split': {
      if (t.invert === true) fail(`${field}.invert`, 'an inverted Split is not implemented');
      const behavior = String(t.behavior);
      if (!BEHAVIORS.includes(behavior)) fail(`${field}.behavior`, `${behavior} is not one of ${BEHAVIORS.join(', ')}`);
      const re = regexOf(t.pattern, `${field}.pattern`);
      return (p) => p.flatMap((s) => splitPiece(s, re, behavior));
    }
    case 'ByteLevel': {
      if (t.add_prefix_space === true) fail(`${field}.add_prefix_space`, 'true is not implemented (DeepSeek and GPT-style tokenizers use false)');
      const re = t.use_regex === false ? undefined : new RegExp(GPT2_SPLIT, 'gu');
      return (p) => (re ? p.flatMap((s) => splitPiece(s, re, 'Isolated')) : p).map(toByteChars);
    }
    case 'Digits': {
      const re = t.individual_digits === true ? /\p{N}/gu : /\p{N}+/gu;
      return (p) => p.flatMap((s) => splitPiece(s, re, 'Isolated'));
    }
    default:
      return fail(`${field}.type`, `pre-tokenizer ${JSON.stringify(t.type)} is not implemented (Sequence, Split, ByteLevel and Digits are)`);
  }
}

function toByteChars(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) out += BYTE_CHAR[b];
  return out;
}

function bytesOfToken(tok: string): Uint8Array {
  const out = new Uint8Array([...tok].length);
  let i = 0;
  for (const ch of tok) {
    const b = CHAR_BYTE.get(ch);
    if (b === undefined) return Buffer.from(tok, 'utf8');
    out[i++] = b;
  }
  return out;
}

function mergesOf(j: unknown): [string, string][] {
  if (!Array.isArray(j)) fail('model.merges', 'expected a list');
  return j.map((m, i) => {
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return [m[0], m[1]];
    if (typeof m === 'string') {
      const at = m.indexOf(' ', 1);
      if (at > 0) return [m.slice(0, at), m.slice(at + 1)];
    }
    return fail(`model.merges[${i}]`, `expected ["a", "b"] or "a b", got ${JSON.stringify(m)}`);
  });
}

/** A byte-level BPE tokenizer from a HuggingFace tokenizer.json (the object, already parsed). */
export function hfTokenizerFromJSON(j: Json): Tokenizer & { added: AddedToken[] } {
  const model = j.model as Json | undefined;
  if (!model || model.type !== 'BPE') fail('model.type', `${JSON.stringify(model?.type)} is not implemented (byte-level BPE is)`);
  if (j.normalizer !== null && j.normalizer !== undefined) fail('normalizer', `${JSON.stringify((j.normalizer as Json).type)} is not implemented (byte-level BPE tokenizers have none)`);
  if (model.byte_fallback === true) fail('model.byte_fallback', 'true is not implemented (byte-level BPE needs none)');
  for (const k of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) if (model[k]) fail(`model.${k}`, 'is not implemented');
  const vocab = model.vocab as Record<string, number> | undefined;
  if (!vocab || typeof vocab !== 'object') fail('model.vocab', 'expected an object of token → id');
  const pre = preTokenizer(j.pre_tokenizer, 'pre_tokenizer');
  const merges = mergesOf(model.merges);
  const rank = new Map(merges.map(([a, b], r) => [`${a} ${b}`, r]));
  const ignoreMerges = model.ignore_merges === true;
  const added: AddedToken[] = (Array.isArray(j.added_tokens) ? j.added_tokens : []).map((t: Json, i: number) => {
    if (typeof t.id !== 'number' || typeof t.content !== 'string') fail(`added_tokens[${i}]`, 'needs an integer id and a string content');
    return { id: t.id, content: t.content, special: t.special === true };
  });
  const byId: Uint8Array[] = [];
  for (const [tok, id] of Object.entries(vocab)) byId[id] = bytesOfToken(tok);
  for (const a of added) byId[a.id] = Buffer.from(a.content, 'utf8');
  const vocabSize = byId.length;
  for (let id = 0; id < vocabSize; id++) if (!byId[id]) byId[id] = new Uint8Array(0);
  const addedIds = new Map(added.map((a) => [a.content, a.id]));
  const addedRe = added.length > 0
    ? new RegExp([...addedIds.keys()].sort((a, b) => b.length - a.length).map(escapeRegex).join('|'), 'gu')
    : undefined;

  const cache = new Map<string, number[]>();
  const bpeWord = (w: string): number[] => {
    const hit = cache.get(w);
    if (hit) return hit;
    let ids: number[];
    if (ignoreMerges && vocab[w] !== undefined) ids = [vocab[w]];
    else {
      let sym = [...w];
      for (;;) {
        let best = -1;
        let bestRank = Infinity;
        for (let i = 0; i + 1 < sym.length; i++) {
          const r = rank.get(`${sym[i]} ${sym[i + 1]}`);
          if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
        }
        if (best < 0) break;
        const [a, b] = merges[bestRank];
        const next: string[] = [];
        for (let i = 0; i < sym.length; i++) {
          if (i + 1 < sym.length && sym[i] === a && sym[i + 1] === b) { next.push(a + b); i++; }
          else next.push(sym[i]);
        }
        sym = next;
      }
      ids = sym.map((s) => {
        const id = vocab[s];
        if (id === undefined) throw new Error(`tokenizer.json: the symbol ${JSON.stringify(s)} is not in model.vocab (the vocabulary must hold every byte and every merge result)`);
        return id;
      });
    }
    cache.set(w, ids);
    return ids;
  };
  const encodeText = (text: string): number[] => pre([text]).flatMap(bpeWord);
  const encode = (text: string): Int32Array => {
    if (!addedRe) return Int32Array.from(encodeText(text));
    const out: number[] = [];
    let at = 0;
    for (const m of text.matchAll(addedRe)) {
      if (m.index > at) out.push(...encodeText(text.slice(at, m.index)));
      out.push(addedIds.get(m[0])!);
      at = m.index + m[0].length;
    }
    if (at < text.length) out.push(...encodeText(text.slice(at)));
    return Int32Array.from(out);
  };
  return {
    kind: 'hf',
    vocabSize,
    added,
    encode,
    decode: (ids) => Buffer.concat(Array.from(ids, (id) => {
      if (!(id >= 0 && id < vocabSize)) throw new Error(`decode: token ${id} is outside the vocabulary [0, ${vocabSize})`);
      return byId[id];
    })).toString('utf8'),
    tokenBytes: (id) => byId[id],
    toJSON: () => j,
  };
}

/** A tokenizer.json that HuggingFace `tokenizers` loads and that encodes exactly as `t` (our bytes or BPE tokenizer). */
export function toHfTokenizerJSON(t: Tokenizer): Json {
  if (t.kind === 'hf') return t.toJSON() as Json;
  const own = t.toJSON() as { merges?: [number, number][]; special?: string[] };
  const merges = own.merges ?? [];
  const tokens = Array.from({ length: 256 }, (_, b) => BYTE_CHAR[b]);
  for (const [a, b] of merges) tokens.push(tokens[a] + tokens[b]);
  const vocab: Record<string, number> = {};
  tokens.forEach((tok, id) => {
    // Two merges can spell the same bytes; HuggingFace's vocabulary maps a spelling to one id, so refuse rather than
    // write a tokenizer that encodes differently.
    if (vocab[tok] !== undefined) throw new Error(`tokenizer export: ids ${vocab[tok]} and ${id} spell the same bytes; HuggingFace's format cannot hold both`);
    vocab[tok] = id;
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    // Our special tokens (tokenizer.ts withChatTokens) follow the base vocabulary, as HuggingFace's added tokens.
    added_tokens: (own.special ?? []).map((content, i) => ({
      id: tokens.length + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: OWN_SPLIT }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: merges.map(([a, b]) => [tokens[a], tokens[b]]),
    },
  };
}
