// The GRPO prompt data (data.format: prompts): JSONL, one object per line, {"prompt": "..."} or {"messages": [...]}
// (chat, rendered with the one chat template, ../data/chat-template.ts) and "reference" (the answer the rule rewards
// compare with; for a code reward, the test source run after the candidate). Optional "language" (code rewards:
// python | javascript, default python). Pure except readPrompts' read. Errors name the file and line.
import { readFileSync } from 'node:fs';
import { renderChat, type ChatMessage } from '../data/chat-template.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { SANDBOX_LANGUAGES, type SandboxLanguage } from '../sandbox/sandbox.js';

export interface PromptRecord {
  /** 1-based line in the file. */
  line: number;
  /** The text the model continues (a plain prompt as it is; messages rendered with the chat template). */
  text: string;
  /** The prompt as the judge sees it ({prompt} in the judge template): the plain prompt or the last user message. */
  question: string;
  reference: string;
  language: SandboxLanguage;
  /** A plain prompt is continued, so a code reward's program starts with it (HumanEval-style); a chat prompt is not. */
  codePrefix: string;
}

const ROLES = new Set(['system', 'user', 'assistant']);

/** Parses one file's text; `file` names it in errors. Blank lines are skipped but counted. */
export function parsePrompts(text: string, file: string): PromptRecord[] {
  const out: PromptRecord[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const where = `${file}:${line}`;
    if (raw.trim() === '') return;
    let o: unknown;
    try {
      o = JSON.parse(raw);
    } catch (e) {
      throw new Error(`${where}: not valid JSON (${(e as Error).message}); each line is one object {"prompt" or "messages", "reference"}`);
    }
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw new Error(`${where}: expected an object {"prompt" or "messages", "reference"}, got ${JSON.stringify(o)?.slice(0, 80)}`);
    const r = o as Record<string, unknown>;
    let textOut: string;
    let question: string;
    let codePrefix = '';
    if (r.prompt !== undefined && r.messages !== undefined) throw new Error(`${where}: give either "prompt" or "messages", not both`);
    if (typeof r.prompt === 'string' && r.prompt !== '') {
      textOut = r.prompt;
      question = r.prompt;
      codePrefix = r.prompt;
    } else if (r.messages !== undefined) {
      const m = r.messages;
      if (!Array.isArray(m) || m.length === 0) throw new Error(`${where}: "messages" must be a non-empty array of {"role", "content"}`);
      m.forEach((x, j) => {
        const mm = x as Record<string, unknown>;
        if (!mm || typeof mm !== 'object' || !ROLES.has(mm.role as string) || typeof mm.content !== 'string') {
          throw new Error(`${where}: messages[${j}] must be {"role": "system"|"user"|"assistant", "content": string}, got ${JSON.stringify(x)?.slice(0, 80)}`);
        }
      });
      const msgs = m as ChatMessage[];
      textOut = renderChat(msgs);
      question = [...msgs].reverse().find((x) => x.role === 'user')?.content ?? msgs[msgs.length - 1].content;
    } else throw new Error(`${where}: missing "prompt" (a non-empty string) or "messages"`);
    if (typeof r.reference !== 'string') throw new Error(`${where}: missing "reference" (a string: the answer, or for a code reward the tests)`);
    const language = r.language ?? 'python';
    if (!SANDBOX_LANGUAGES.includes(language as SandboxLanguage)) throw new Error(`${where}: "language" must be one of ${SANDBOX_LANGUAGES.join(', ')}, got ${JSON.stringify(language)}`);
    out.push({ line, text: textOut, question, reference: r.reference, language: language as SandboxLanguage, codePrefix });
  });
  if (out.length === 0) throw new Error(`${file}: no prompts (expected JSONL lines {"prompt" or "messages", "reference"})`);
  return out;
}

export function readPrompts(file: string): PromptRecord[] {
  return parsePrompts(readFileSync(file, 'utf8'), file);
}

/**
 * Each prompt's token ids; a prompt that leaves fewer than maxNewTokens of the context (the training sequence length:
 * prompt + response are trained as one window) is refused, naming the limit.
 */
export function encodePrompts(records: PromptRecord[], tokenizer: Tokenizer, context: number, maxNewTokens: number, file: string): Int32Array[] {
  const limit = context - maxNewTokens;
  if (limit < 1) throw new Error(`training.grpo.maxNewTokens ${maxNewTokens} leaves no room for a prompt in training.sequenceLength ${context}; raise sequenceLength or lower maxNewTokens`);
  return records.map((r) => {
    const ids = tokenizer.encode(r.text);
    if (ids.length > limit) {
      throw new Error(`${file}:${r.line}: the prompt is ${ids.length} tokens, longer than the limit of ${limit} (training.sequenceLength ${context} minus training.grpo.maxNewTokens ${maxNewTokens}); shorten it or raise sequenceLength`);
    }
    if (ids.length === 0) throw new Error(`${file}:${r.line}: the prompt encodes to no tokens`);
    return ids;
  });
}
