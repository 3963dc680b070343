// GRPO's tokens and text: the rewards score the response without the end-of-sentence token that stopped it (so an
// exact-match or end-anchored regex reward can match a response the model ended properly), and a run started from a
// checkpoint without tokenizer.json has the chat template's tokens when the vocabulary has room, as SFT does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { responseText, stopTokenIds } from '../../../runtime/src/post/grpo.js';
import { byteTokenizer, withChatTokens } from '../../../runtime/src/data/tokenizer.js';
import { grpoTokenizer } from '../../../runtime/src/post/start.js';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

test('the stop token that ended a response is not in the scored text; one elsewhere, or none, changes nothing', () => {
  const tok = withChatTokens(byteTokenizer, 260);
  // Bytes are 0..255, then BOS 256, EOS 257, <User> 258, <Assistant> 259.
  const stop = stopTokenIds(tok);
  assert.deepEqual(stop, [257]);
  assert.equal(responseText(tok, Int32Array.of(0x35, 257), stop), '5');
  assert.equal(responseText(tok, Int32Array.of(0x35, 0x36), stop), '56');
  assert.equal(responseText(tok, Int32Array.of(257, 0x35), stop), '<｜end▁of▁sentence｜>5');
  assert.equal(responseText(tok, Int32Array.of(257), stop), '');
  assert.equal(responseText(tok, new Int32Array(0), stop), '');
  // Bytes only: no end-of-sentence id, nothing is cut.
  assert.deepEqual(stopTokenIds(byteTokenizer), []);
  assert.equal(responseText(byteTokenizer, Int32Array.of(0x35, 0x36), []), '56');
});

test('a GRPO run from a checkpoint without tokenizer.json (a distributed SFT job) gets the chat tokens SFT gave it', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'moe-grpo-tok-'));
  try {
    mkdirSync(path.join(dir, 'step-28'));
    const init = { init: { path: dir, origin: 'test' } };
    const chat = grpoTokenizer(init, { preset: 'deepseek-v3-tiny', overrides: { vocab_size: 260 } });
    assert.deepEqual(Array.from(chat.encode('<｜User｜>1<｜Assistant｜>')), [258, 0x31, 259]);
    assert.deepEqual(stopTokenIds(chat), [257]);
    // No room in the vocabulary: bytes as before.
    const bytes = grpoTokenizer(init, { preset: 'deepseek-v3-tiny', overrides: { vocab_size: 256 } });
    assert.equal(bytes.vocabSize, 256);
    assert.deepEqual(stopTokenIds(bytes), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
