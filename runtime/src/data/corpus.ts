// Reads training text: a .txt/.md file, a .jsonl file (one {"text": ...} object per line), or a directory of those
// (recursively, in sorted order so every run sees the same stream). Documents are joined with a blank line.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const TEXT = new Set(['.txt', '.md', '.text']);

function filesUnder(p: string): string[] {
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st) throw new Error(`data path ${p} does not exist: pass a .txt/.jsonl file or a directory of them`);
  if (st.isFile()) return [p];
  return readdirSync(p)
    .sort()
    .flatMap((n) => filesUnder(path.join(p, n)))
    .filter((f) => TEXT.has(path.extname(f)) || path.extname(f) === '.jsonl');
}

export function parseJsonl(text: string, file: string): string[] {
  const docs: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new Error(`${file}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    const t = (obj as { text?: unknown }).text;
    if (typeof t !== 'string') throw new Error(`${file}:${i + 1}: each JSONL line needs a string field "text"`);
    docs.push(t);
  });
  return docs;
}

/** The documents of a file or directory, in a fixed order. */
export function readDocuments(p: string): string[] {
  const files = filesUnder(p);
  if (files.length === 0) throw new Error(`data path ${p} holds no .txt, .md or .jsonl files`);
  return files.flatMap((f) => {
    const text = readFileSync(f, 'utf8');
    return path.extname(f) === '.jsonl' ? parseJsonl(text, f) : [text];
  });
}

export function joinDocuments(docs: string[]): string {
  return docs.join('\n\n');
}
