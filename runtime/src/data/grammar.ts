// A deterministic synthetic corpus with a small, regular grammar, so the shipped example data is reproducible and
// free of any copyright question. Each paragraph tells a short scene: subject–verb–object sentences with agreement,
// a prepositional phrase, counting facts ("three and two make five") and a closing line.
import { Rng } from '../model/rng.js';

const ADJ = ['red', 'small', 'old', 'quiet', 'bright', 'green', 'tall', 'slow', 'clever', 'brave'];
const NOUN = ['fox', 'dog', 'bird', 'miller', 'king', 'child', 'farmer', 'cat', 'sailor', 'baker'];
const PLACE = ['river', 'mill', 'forest', 'market', 'harbour', 'garden', 'bridge', 'tower'];
const VERB = ['sees', 'follows', 'helps', 'calls', 'greets', 'watches', 'finds', 'thanks'];
const PREP = ['near', 'behind', 'beside', 'across', 'inside'];
const NUM = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

function pick<T>(rng: Rng, xs: T[]): T {
  return xs[rng.int(xs.length)];
}

function sentence(rng: Rng): string {
  const kind = rng.int(4);
  if (kind === 0) {
    const a = rng.int(6);
    const b = rng.int(5);
    return `${NUM[a]} and ${NUM[b]} make ${NUM[a + b]}.`;
  }
  const s = `the ${pick(rng, ADJ)} ${pick(rng, NOUN)}`;
  const o = `the ${pick(rng, ADJ)} ${pick(rng, NOUN)}`;
  if (kind === 1) return `${s} ${pick(rng, VERB)} ${o} ${pick(rng, PREP)} the ${pick(rng, PLACE)}.`;
  if (kind === 2) return `${s} ${pick(rng, VERB)} ${o}.`;
  return `in the ${pick(rng, PLACE)}, ${s} ${pick(rng, VERB)} ${o}.`;
}

/** About `bytes` bytes of text from `seed` (same seed → same text). */
export function syntheticCorpus(seed: number, bytes: number): string {
  const rng = new Rng(seed);
  const paras: string[] = [];
  let n = 0;
  while (n < bytes) {
    const lines: string[] = [];
    const k = 3 + rng.int(4);
    for (let i = 0; i < k; i++) lines.push(sentence(rng));
    lines.push('and that is the end of the story.');
    const p = lines.join(' ');
    paras.push(p);
    n += p.length + 2;
  }
  return paras.join('\n\n') + '\n';
}

/**
 * `n` conversations in the corpus's language (SFT's example data, chat JSONL objects): sums ("what do three and two
 * make?" → "three and two make five."), repetition ("repeat: <sentence>" → the sentence) and a scene's closing line,
 * some with a system turn. Same seed → same conversations.
 */
export function syntheticChat(seed: number, n: number): { messages: { role: 'system' | 'user' | 'assistant'; content: string }[] }[] {
  const rng = new Rng(seed);
  const out: { messages: { role: 'system' | 'user' | 'assistant'; content: string }[] }[] = [];
  for (let i = 0; i < n; i++) {
    const kind = rng.int(3);
    let user: string, answer: string;
    if (kind === 0) {
      const a = rng.int(6), b = rng.int(5);
      user = `what do ${NUM[a]} and ${NUM[b]} make?`;
      answer = `${NUM[a]} and ${NUM[b]} make ${NUM[a + b]}.`;
    } else if (kind === 1) {
      answer = sentence(rng);
      user = `repeat: ${answer}`;
    } else {
      user = `how does the story of the ${pick(rng, NOUN)} end?`;
      answer = 'that is the end of the story.';
    }
    const messages: { role: 'system' | 'user' | 'assistant'; content: string }[] = [];
    if (rng.int(4) === 0) messages.push({ role: 'system', content: 'answer in one sentence.' });
    messages.push({ role: 'user', content: user }, { role: 'assistant', content: answer });
    out.push({ messages });
  }
  return out;
}
