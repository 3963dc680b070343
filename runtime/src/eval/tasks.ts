// Task files: JSONL, one sample per line (formats: README.md), parsed into typed samples (pure, plus readTaskFile's
// read). Every problem is named as `<file>:<line>: <what is wrong>`; blank lines are skipped but counted.
import { readFileSync } from 'node:fs';
import type { EvalTask, EvalTaskType } from '../../../operator/contract/index.js';
import { SANDBOX_LANGUAGES, type SandboxLanguage } from '../sandbox/sandbox.js';
import { BadTaskError } from './errors.js';

export interface MultipleChoiceSample { line: number; context: string; choices: string[]; answer: number }
export interface GenerateSample { line: number; prompt: string; answer: string }
export interface CodeSample { line: number; prompt: string; tests: string; language: SandboxLanguage; entryPoint?: string }

export type Samples =
  | { type: 'multiple_choice'; samples: MultipleChoiceSample[] }
  | { type: 'generate'; samples: GenerateSample[] }
  | { type: 'code'; samples: CodeSample[] };

type Row = Record<string, unknown>;

function str(o: Row, key: string, where: string, nonEmpty = true): string {
  const v = o[key];
  if (v === undefined) throw new BadTaskError(`${where}: missing field "${key}"`);
  if (typeof v !== 'string' || (nonEmpty && v === '')) throw new BadTaskError(`${where}: "${key}" must be a ${nonEmpty ? 'non-empty ' : ''}string, got ${JSON.stringify(v)}`);
  return v;
}

function multipleChoice(o: Row, line: number, where: string): MultipleChoiceSample {
  const key = o.question !== undefined ? 'question' : o.context !== undefined ? 'context' : undefined;
  if (!key) throw new BadTaskError(`${where}: missing field "question" (or "context")`);
  const context = str(o, key, where);
  const c = o.choices;
  if (c === undefined) throw new BadTaskError(`${where}: missing field "choices"`);
  if (!Array.isArray(c) || c.length < 2 || c.some((x) => typeof x !== 'string' || x === '')) {
    throw new BadTaskError(`${where}: "choices" must be an array of at least 2 non-empty strings, got ${JSON.stringify(c)}`);
  }
  const a = o.answer;
  if (a === undefined) throw new BadTaskError(`${where}: missing field "answer"`);
  if (typeof a !== 'number' || !Number.isInteger(a) || a < 0 || a >= c.length) {
    throw new BadTaskError(`${where}: "answer" must be the index of the right choice, an integer in [0, ${c.length}), got ${JSON.stringify(a)}`);
  }
  return { line, context, choices: c as string[], answer: a };
}

function generate(o: Row, line: number, where: string): GenerateSample {
  const a = o.answer;
  if (a === undefined) throw new BadTaskError(`${where}: missing field "answer"`);
  // A numeric answer may be written as a JSON number.
  if (typeof a !== 'string' && !(typeof a === 'number' && Number.isFinite(a))) throw new BadTaskError(`${where}: "answer" must be a string or a number, got ${JSON.stringify(a)}`);
  return { line, prompt: str(o, 'prompt', where), answer: String(a) };
}

function code(o: Row, line: number, where: string): CodeSample {
  const prompt = str(o, 'prompt', where);
  const tests = str(o, 'tests', where);
  const language = str(o, 'language', where) as SandboxLanguage;
  if (!SANDBOX_LANGUAGES.includes(language)) throw new BadTaskError(`${where}: "language" must be one of ${SANDBOX_LANGUAGES.join(', ')}, got ${JSON.stringify(language)}`);
  const s: CodeSample = { line, prompt, tests, language };
  if (o.entry_point !== undefined) {
    const e = str(o, 'entry_point', where);
    if (!/^[A-Za-z_$][\w$]*$/.test(e)) throw new BadTaskError(`${where}: "entry_point" must be an identifier, got ${JSON.stringify(e)}`);
    s.entryPoint = e;
  }
  return s;
}

/** The samples of a task's JSONL text; `file` names it in errors; at most `limit` samples. */
export function parseTaskLines(text: string, file: string, type: EvalTaskType, limit?: number): Samples {
  const out: unknown[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && (limit === undefined || out.length < limit); i++) {
    const raw = lines[i].trim();
    if (raw === '') continue;
    const where = `${file}:${i + 1}`;
    let o: unknown;
    try {
      o = JSON.parse(raw);
    } catch (e) {
      throw new BadTaskError(`${where}: not JSON (${(e as Error).message})`);
    }
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw new BadTaskError(`${where}: a sample must be a JSON object, got ${raw.length > 60 ? `${raw.slice(0, 60)}…` : raw}`);
    const row = o as Row;
    out.push(type === 'multiple_choice' ? multipleChoice(row, i + 1, where) : type === 'generate' ? generate(row, i + 1, where) : code(row, i + 1, where));
  }
  if (out.length === 0) throw new BadTaskError(`${file}: no samples (the file is empty)`);
  return { type, samples: out } as Samples;
}

/** Reads and parses one task's file (a missing or unreadable file is a bad task too). */
export function readTaskFile(task: EvalTask): Samples {
  let text: string;
  try {
    text = readFileSync(task.file, 'utf8');
  } catch (e) {
    throw new BadTaskError(`${task.file}: cannot read task "${task.name}" (${(e as Error).message})`);
  }
  return parseTaskLines(text, task.file, task.type, task.limit);
}
