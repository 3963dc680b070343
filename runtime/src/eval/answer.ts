// Answer extraction and comparison for generate tasks (pure), GSM8K-style: the task's answerPattern (first match, its
// first group), else the content of the last \boxed{...} (braces balanced), else the last number in the text; then
// exact match after trimming, or numeric equality when both sides parse as numbers ("1,234" = "1234.0").

/** The content of the last \boxed{...}, nested braces included; undefined when there is none (or it is unclosed). */
export function lastBoxed(text: string): string | undefined {
  const at = text.lastIndexOf('\\boxed{');
  if (at < 0) return undefined;
  let depth = 0;
  const start = at + '\\boxed{'.length;
  for (let i = start; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}') {
      if (depth === 0) return text.slice(start, i);
      depth--;
    }
  }
  return undefined;
}

const NUMBER = /-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|-?\.\d+/g;

/** The last number written in the text (thousands separators allowed), as written; undefined when there is none. */
export function lastNumber(text: string): string | undefined {
  const all = text.match(NUMBER);
  return all ? all[all.length - 1] : undefined;
}

/** The answer a completion gives; undefined when nothing matches (scored as wrong). */
export function extractAnswer(text: string, pattern?: string): string | undefined {
  if (pattern !== undefined) {
    const m = new RegExp(pattern, 'u').exec(text);
    if (!m) return undefined;
    return (m.length > 1 ? m[1] : m[0]) ?? undefined;
  }
  return lastBoxed(text) ?? lastNumber(text);
}

/** A number when the string is one (commas as thousands separators, a leading $ or trailing . allowed); else undefined. */
export function asNumber(s: string): number | undefined {
  const t = s.trim().replace(/^\$/, '').replace(/\.$/, '').replace(/,/g, '');
  if (!/^-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i.test(t)) return undefined;
  return Number(t);
}

/** Exact match after trimming, or equal numbers. */
export function answersMatch(predicted: string | undefined, reference: string): boolean {
  if (predicted === undefined) return false;
  const p = predicted.trim();
  const r = reference.trim();
  if (p === r) return true;
  const a = asNumber(p);
  const b = asNumber(r);
  return a !== undefined && b !== undefined && a === b;
}
