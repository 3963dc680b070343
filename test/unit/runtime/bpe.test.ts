// Byte-level BPE: deterministic merges, lossless round trip, saved/loaded form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bpeTokenizer, trainBpe } from '../../../runtime/src/data/bpe.js';
import { tokenizerFromJSON } from '../../../runtime/src/data/tokenizer.js';
import { syntheticCorpus } from '../../../runtime/src/data/grammar.js';

test('BPE merges the most frequent pair first, ties to the smallest ids, and stops when no pair repeats', () => {
  // words: "aaab" ×1, " ab" ×2 → pairs (a,a):2 (a,b):3 (" ",a):2 → first merge (a,b) = 256.
  const merges = trainBpe('aaab ab ab', 1000);
  assert.deepEqual(merges[0], [97, 98]);
  // then (a,a):2? "aaab" → a a 256 → (a,a):1 (a,256):1; " ab" → " " 256 ×2 → (" ",256):2 → merge [32, 256].
  assert.deepEqual(merges[1], [32, 256]);
  assert.equal(merges.length, 2);
  assert.deepEqual(trainBpe('aaab ab ab', 257), [[97, 98]]);
  assert.throws(() => trainBpe('x', 100), /vocabulary size must be an integer >= 256/);
});

test('BPE round trip is lossless (UTF-8 included) and compresses the shipped grammar', () => {
  const text = syntheticCorpus(1, 20000) + ' naïve café ☕';
  const tok = bpeTokenizer(trainBpe(text, 600));
  const ids = tok.encode(text);
  assert.equal(tok.decode(ids), text);
  assert.ok(ids.length < text.length / 3, `${ids.length} tokens for ${text.length} characters`);
  assert.ok(Math.max(...ids) < tok.vocabSize);
  const again = tokenizerFromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
  assert.deepEqual(Array.from(again.encode('the red fox sees the old dog.')), Array.from(tok.encode('the red fox sees the old dog.')));
  assert.throws(() => tok.decode([tok.vocabSize]), /outside the vocabulary/);
  assert.throws(() => tokenizerFromJSON({ kind: 'wordpiece' }), /unsupported tokenizer/);
});
