// The router's text pipeline: incremental detokenisation never emits half a UTF-8 character and adds up to the
// tokenizer's decode; stop strings are cut exactly, across chunk boundaries, and partial matches are held back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { bpeTokenizer, trainBpe } from '../../../runtime/src/data/bpe.js';
import { IncrementalDetokenizer, tokenBytesTable } from '../../../runtime/src/serve/http/detok.js';
import { StopMatcher } from '../../../runtime/src/serve/http/stop.js';

function stream(tok: typeof byteTokenizer, ids: ArrayLike<number>): string[] {
  const d = new IncrementalDetokenizer(tokenBytesTable(tok));
  const out = Array.from(ids, (id) => d.push(id));
  out.push(d.flush());
  return out;
}

test('multi-byte characters split over byte tokens come out whole', () => {
  const text = 'aé€😀b';
  const chunks = stream(byteTokenizer, byteTokenizer.encode(text));
  // a | é (2 bytes) | € (3) | 😀 (4) | b: text appears only on a character's last byte.
  assert.deepEqual(chunks, ['a', '', 'é', '', '', '€', '', '', '', '😀', 'b', '']);
});

test('invalid bytes become U+FFFD as decode makes them, and the chunks add up to decode of all ids', () => {
  const ids = [0x41, 0xff, 0xe2, 0x82, 0x41, 0xe2, 0x82, 0xac, 0xf0, 0x9f];
  const chunks = stream(byteTokenizer, ids);
  assert.equal(chunks.join(''), byteTokenizer.decode(ids));
  assert.equal(chunks.join(''), 'A\uFFFD\uFFFDA€\uFFFD');
  for (const c of chunks) assert.ok(!/[\uD800-\uDBFF]$/.test(c), 'no chunk ends in half a surrogate pair');
});

test('the BPE tokenizer streams through its merges to the same text', () => {
  const corpus = 'the café serves crème brûlée — déjà vu for the café crowd. '.repeat(20);
  const tok = bpeTokenizer(trainBpe(corpus, 300));
  const text = 'déjà vu: the café — crème brûlée 😀';
  const ids = tok.encode(text);
  const chunks = stream(tok, ids);
  assert.equal(chunks.join(''), text);
  assert.ok(chunks.every((c) => !c.includes('\uFFFD')));
});

test('an id outside the vocabulary is an error, not garbage', () => {
  const d = new IncrementalDetokenizer(tokenBytesTable(byteTokenizer));
  assert.throws(() => d.push(256), /outside the vocabulary/);
});

test('stop strings: cut before the match, across chunks, earliest of several', () => {
  const m = new StopMatcher(['END', 'xyz']);
  assert.deepEqual(m.push('hello E'), { emit: 'hello ', stopped: false });
  assert.deepEqual(m.push('N'), { emit: '', stopped: false });
  assert.deepEqual(m.push('Dgame'), { emit: '', stopped: true });
  const k = new StopMatcher(['xyz', 'END']);
  assert.deepEqual(k.push('a END b xyz'), { emit: 'a ', stopped: true });
});

test('stop strings: a held partial match that does not complete is released', () => {
  const m = new StopMatcher(['abc']);
  assert.deepEqual(m.push('xxab'), { emit: 'xx', stopped: false });
  assert.deepEqual(m.push('d'), { emit: 'abd', stopped: false });
  assert.deepEqual(m.push('a'), { emit: '', stopped: false });
  assert.equal(m.flush(), 'a');
  assert.deepEqual(new StopMatcher([]).push('abc'), { emit: 'abc', stopped: false });
});
