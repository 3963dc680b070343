// SFT's chat data (data.format: chat): JSONL, one conversation per line, {"messages": [{"role": "system"|"user"|
// "assistant", "content": "..."}]}, or a directory of .jsonl files (sorted). Each conversation is rendered with the
// chat template (chat-template.ts) and encoded with a per-token loss flag: the assistant's content and its
// end-of-sentence carry the loss, everything else (BOS, system, user turns, the <｜Assistant｜> marker) is context.
// Errors name the file and line and say what a line must hold.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { chatPieces, type ChatMessage, type ChatRole } from './chat-template.js';
import type { Tokenizer } from './tokenizer.js';

export interface ChatSample {
  /** file:line, for errors about this sample. */
  where: string;
  messages: ChatMessage[];
}

export interface EncodedSample {
  where: string;
  ids: Int32Array;
  /** 1 where the token is a loss target (assistant content and its end-of-sentence), else 0. */
  loss: Uint8Array;
}

const ROLES: readonly ChatRole[] = ['system', 'user', 'assistant'];
const SHAPE = '{"messages": [{"role": "system"|"user"|"assistant", "content": "..."}]}';

/** One file's conversations; blank lines are skipped (and counted in line numbers). */
export function parseChat(text: string, file: string): ChatSample[] {
  const out: ChatSample[] = [];
  text.split('\n').forEach((raw, i) => {
    const where = `${file}:${i + 1}`;
    if (raw.trim() === '') return;
    let o: unknown;
    try {
      o = JSON.parse(raw);
    } catch (e) {
      throw new Error(`${where}: not valid JSON (${(e as Error).message}); each line is one object ${SHAPE}`);
    }
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw new Error(`${where}: expected an object ${SHAPE}, got ${JSON.stringify(o)?.slice(0, 80)}`);
    const m = (o as { messages?: unknown }).messages;
    if (m === undefined) throw new Error(`${where}: missing "messages"; each line is ${SHAPE}`);
    if (!Array.isArray(m)) throw new Error(`${where}: "messages" must be an array of {"role", "content"}, got ${JSON.stringify(m)?.slice(0, 80)}`);
    if (m.length === 0) throw new Error(`${where}: "messages" is empty; a conversation needs at least a user and an assistant turn`);
    const messages = m.map((x, j): ChatMessage => {
      const mm = x as Record<string, unknown>;
      if (!mm || typeof mm !== 'object' || Array.isArray(mm)) throw new Error(`${where}: messages[${j}] must be an object {"role", "content"}, got ${JSON.stringify(x)?.slice(0, 80)}`);
      if (!ROLES.includes(mm.role as ChatRole)) throw new Error(`${where}: messages[${j}].role ${JSON.stringify(mm.role)} is not one of ${ROLES.join(', ')}`);
      if (typeof mm.content !== 'string') throw new Error(`${where}: messages[${j}].content must be a string, got ${JSON.stringify(mm.content)?.slice(0, 80)}`);
      return { role: mm.role as ChatRole, content: mm.content };
    });
    if (!messages.some((x) => x.role === 'assistant')) throw new Error(`${where}: the conversation has no assistant turn; SFT trains on the assistant's answers`);
    out.push({ where, messages });
  });
  return out;
}

function jsonlFiles(p: string): string[] {
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st) throw new Error(`chat data ${p} does not exist: pass a .jsonl file or a directory of them`);
  if (st.isFile()) return [p];
  return readdirSync(p).sort().flatMap((n) => jsonlFiles(path.join(p, n))).filter((f) => path.extname(f) === '.jsonl');
}

/** The conversations of a .jsonl file or a directory of them, in a fixed order. */
export function readChat(p: string): ChatSample[] {
  const files = jsonlFiles(p);
  if (files.length === 0) throw new Error(`chat data ${p} holds no .jsonl files`);
  const out = files.flatMap((f) => parseChat(readFileSync(f, 'utf8'), f));
  if (out.length === 0) throw new Error(`chat data ${p} holds no conversations (expected JSONL lines ${SHAPE})`);
  return out;
}

/** The conversation's tokens and loss flags: each template piece encoded in turn. */
export function encodeSample(s: ChatSample, tokenizer: Tokenizer): EncodedSample {
  const ids: number[] = [];
  const loss: number[] = [];
  for (const p of chatPieces(s.messages, false)) {
    const t = tokenizer.encode(p.text);
    for (const id of t) {
      ids.push(id);
      loss.push(p.loss ? 1 : 0);
    }
  }
  return { where: s.where, ids: Int32Array.from(ids), loss: Uint8Array.from(loss) };
}
