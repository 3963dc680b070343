// An answer's log-probabilities in OpenAI's two shapes, from the engine's token ids and values. Pure.
//   completions (legacy): {tokens, token_logprobs, top_logprobs: [{text: logprob} | null], text_offset}; the chosen
//     token is added to its position's dict when it is not among the top k (up to k + 1 entries, as OpenAI and vLLM
//     answer); the echoed prompt's first token has null for both.
//   chat: {content: [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}]}.
// A token's text is its bytes as UTF-8, or OpenAI's `bytes:\xNN...` when they are not whole UTF-8 on their own (a
// byte-level token may be part of a character), so every id has its own text and the dicts lose nothing.
import type { TokenLogprob } from '../engine/types.js';

/** One token of the answer: its id, log-probability and top alternatives (null: the prompt's first token), and where its text starts. */
export interface LogprobEntry {
  id: number;
  logprob: number | null;
  top: TokenLogprob['top'] | null;
  /** Characters (Unicode code points) of the answer's text before this token's. */
  offset: number;
}

export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

interface ChatTokenLogprob { token: string; logprob: number; bytes: number[] }
export interface ChatLogprobs { content: (ChatTokenLogprob & { top_logprobs: ChatTokenLogprob[] })[] }

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function tokenText(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return `bytes:${Array.from(bytes, (b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')}`;
  }
}

/** Code points in a string (Python's len, which is how clients index text_offset). */
export function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
    n++;
  }
  return n;
}

export class LogprobFormatter {
  private readonly texts = new Map<number, string>();

  /** table: id → the token's bytes (detok.ts tokenBytesTable). */
  constructor(private readonly table: Uint8Array[]) {}

  private text(id: number): string {
    let t = this.texts.get(id);
    if (t === undefined) {
      t = tokenText(this.table[id] ?? new Uint8Array(0));
      this.texts.set(id, t);
    }
    return t;
  }

  completion(entries: readonly LogprobEntry[]): CompletionLogprobs {
    return {
      tokens: entries.map((e) => this.text(e.id)),
      token_logprobs: entries.map((e) => e.logprob),
      top_logprobs: entries.map((e) => {
        if (!e.top) return null;
        const d: Record<string, number> = {};
        for (const t of e.top) d[this.text(t.id)] = t.logprob;
        if (e.logprob !== null && !e.top.some((t) => t.id === e.id)) d[this.text(e.id)] = e.logprob;
        return d;
      }),
      text_offset: entries.map((e) => e.offset),
    };
  }

  chat(entries: readonly LogprobEntry[]): ChatLogprobs {
    const one = (id: number, logprob: number): ChatTokenLogprob => ({ token: this.text(id), logprob, bytes: Array.from(this.table[id] ?? []) });
    return { content: entries.map((e) => ({ ...one(e.id, e.logprob ?? 0), top_logprobs: (e.top ?? []).map((t) => one(t.id, t.logprob)) })) };
  }
}
