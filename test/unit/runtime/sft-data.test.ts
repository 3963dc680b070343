// SFT's data path: DeepSeek-V3's chat template and its special tokens, the chat JSONL reader's errors, loss flags,
// packing and the per-head weights. Expected values are written out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chatPieces, renderChat, CHAT_TEMPLATE_JINJA } from '../../../runtime/src/data/chat-template.js';
import { byteTokenizer, specialId, tokenizerFromJSON, withChatTokens } from '../../../runtime/src/data/tokenizer.js';
import { toHfTokenizerJSON } from '../../../runtime/src/data/hf-tokenizer.js';
import { encodeSample, parseChat } from '../../../runtime/src/data/chat-data.js';
import { ChatBatches, chatBatch, checkLengths, heldOutBatches, packWindows } from '../../../runtime/src/data/chat-batches.js';
import { settingsFromPlan } from '../../../runtime/src/train/plan.js';
import { defaultTrainOptions } from '../../../runtime/src/train/options.js';
import { buildReport, heldOutPoints, lastPerStep, type MetricRow } from '../../../operator/report/training-report.js';

const BOS = '<｜begin▁of▁sentence｜>', EOS = '<｜end▁of▁sentence｜>', U = '<｜User｜>', A = '<｜Assistant｜>';

test('the chat template is DeepSeek-V3\'s: BOS, system turns first (joined by a blank line), user, assistant + EOS, open assistant', () => {
  const text = renderChat([
    { role: 'user', content: 'hi' }, { role: 'system', content: 'be brief' }, { role: 'assistant', content: 'hello' },
    { role: 'system', content: 'be kind' }, { role: 'user', content: 'why?' },
  ]);
  assert.equal(text, `${BOS}be brief\n\nbe kind${U}hi${A}hello${EOS}${U}why?${A}`);
  assert.deepEqual(chatPieces([{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }], false), [
    { text: BOS, loss: false }, { text: `${U}q`, loss: false }, { text: A, loss: false }, { text: `a${EOS}`, loss: true },
  ]);
  // The Jinja names the same literal tokens (transformers renders it in test/unit/interop).
  for (const s of [BOS, EOS, U, A]) assert.ok(CHAT_TEMPLATE_JINJA.includes(s));
});

test('withChatTokens: special tokens get ids 256..259 when the vocabulary has room; otherwise they stay bytes', () => {
  const t = withChatTokens(byteTokenizer, 260);
  assert.equal(t.vocabSize, 260);
  const text = `${BOS}hi${U}a${A}b${EOS}`;
  assert.deepEqual(Array.from(t.encode(text)), [256, 104, 105, 258, 97, 259, 98, 257]);
  assert.equal(t.decode(t.encode(text)), text);
  assert.equal(specialId(t, EOS), 257);
  // Saved and loaded with the run, and in HuggingFace's format with the same ids.
  const back = tokenizerFromJSON(JSON.parse(JSON.stringify(t.toJSON())));
  assert.deepEqual(Array.from(back.encode(text)), [256, 104, 105, 258, 97, 259, 98, 257]);
  const hf = toHfTokenizerJSON(t) as { added_tokens: { id: number; content: string }[] };
  assert.deepEqual(hf.added_tokens.map((a) => [a.id, a.content]), [[256, BOS], [257, EOS], [258, U], [259, A]]);
  assert.deepEqual(Array.from(tokenizerFromJSON(hf).encode(text)), [256, 104, 105, 258, 97, 259, 98, 257]);
  // A 256-token model: the same text as UTF-8 bytes, no special ids.
  const plain = withChatTokens(byteTokenizer, 259);
  assert.equal(plain, byteTokenizer);
  assert.equal(plain.encode(text).length, Buffer.byteLength(text));
  assert.equal(specialId(plain, EOS), undefined);
});

test('chat JSONL errors name the file and line and what is wrong', () => {
  const ok = '{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}';
  assert.equal(parseChat(`${ok}\n\n${ok}\n`, 'd.jsonl').length, 2);
  assert.deepEqual(parseChat(`\n${ok}`, 'd.jsonl').map((s) => s.where), ['d.jsonl:2']);
  assert.throws(() => parseChat(`${ok}\n{"messages": [`, 'd.jsonl'), /^Error: d\.jsonl:2: not valid JSON/);
  assert.throws(() => parseChat('[1]', 'd.jsonl'), /d\.jsonl:1: expected an object/);
  assert.throws(() => parseChat('{"text":"x"}', 'd.jsonl'), /d\.jsonl:1: missing "messages"/);
  assert.throws(() => parseChat('{"messages":[]}', 'd.jsonl'), /d\.jsonl:1: "messages" is empty/);
  assert.throws(() => parseChat('{"messages":[{"role":"tool","content":"x"},{"role":"assistant","content":"a"}]}', 'd.jsonl'), /d\.jsonl:1: messages\[0\]\.role "tool" is not one of system, user, assistant/);
  assert.throws(() => parseChat('{"messages":[{"role":"user","content":3}]}', 'd.jsonl'), /d\.jsonl:1: messages\[0\]\.content must be a string/);
  assert.throws(() => parseChat(`${ok}\n${ok}\n{"messages":[{"role":"user","content":"q"}]}`, 'd.jsonl'), /d\.jsonl:3: the conversation has no assistant turn/);
});

test('encodeSample: the loss covers the assistant content and its EOS only', () => {
  const t = withChatTokens(byteTokenizer, 260);
  const [s] = parseChat('{"messages":[{"role":"system","content":"s"},{"role":"user","content":"q"},{"role":"assistant","content":"ab"}]}', 'd.jsonl');
  const e = encodeSample(s!, t);
  // BOS s <User> q <Assistant> a b EOS
  assert.deepEqual(Array.from(e.ids), [256, 115, 258, 113, 259, 97, 98, 257]);
  assert.deepEqual(Array.from(e.loss), [0, 0, 0, 0, 0, 1, 1, 1]);
  assert.equal(e.where, 'd.jsonl:1');
});

test('packWindows: greedy in order with packing, one per window without', () => {
  assert.deepEqual(packWindows([3, 4, 2, 5], [0, 1, 2, 3], 8, true), [[0, 1], [2, 3]]);
  assert.deepEqual(packWindows([3, 4, 2, 5], [3, 2, 1, 0], 8, true), [[3, 2], [1, 0]]);
  assert.deepEqual(packWindows([3, 4, 2, 5], [0, 1, 2, 3], 8, false), [[0], [1], [2], [3]]);
});

test('chatBatch: tokens, segments and per-head weights of a packed window, by hand', () => {
  const a = { where: 'a:1', ids: Int32Array.of(10, 11, 12), loss: Uint8Array.of(0, 1, 1) };
  const b = { where: 'a:2', ids: Int32Array.of(20, 21), loss: Uint8Array.of(0, 1) };
  const layout = { seqLen: 4, mtpDepth: 1, packing: true };
  const batch = chatBatch([a, b], [[0, 1]], layout);
  assert.deepEqual(Array.from(batch.tokens), [10, 11, 12, 20, 21, 0]);
  assert.deepEqual(Array.from(batch.segments!), [0, 0, 0, 1, 1, -1]);
  // Main head: position i → token i+1: 11 ✓, 12 ✓, 20 (other sample) ✗, 21 ✓ → 1/3 each.
  const logp = Float64Array.of(-1, -2, -4, -8);
  const main = batch.objective!.main(logp);
  assert.ok(Math.abs(main.loss - (1 + 2 + 8) / 3) < 1e-14);
  assert.deepEqual(Array.from(main.dlogp), [-1 / 3, -1 / 3, 0, -1 / 3]);
  // MTP depth 1: position i → token i+2: 12 ✓, 20 ✗, 21 (other sample) ✗, padding ✗ → [1, 0, 0, 0].
  assert.deepEqual(Array.from(batch.objective!.mtp!(0, logp).dlogp), [-1, 0, 0, 0]);
  assert.equal(batch.lossTokens, 3);
  // Without packing each sample has its own padded window.
  const sep = chatBatch([a, b], [[0], [1]], { ...layout, packing: false });
  assert.deepEqual(Array.from(sep.tokens), [10, 11, 12, 0, 0, 0, 20, 21, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(sep.segments!), [0, 0, 0, -1, -1, -1, 0, 0, -1, -1, -1, -1]);
  assert.deepEqual(Array.from(sep.objective!.main(new Float64Array(8)).dlogp), [-1 / 3, -1 / 3, 0, 0, -1 / 3, 0, 0, 0]);
});

test('a conversation longer than S+1 tokens is refused with its file:line and the limit', () => {
  const long = { where: 'chat.jsonl:7', ids: new Int32Array(10), loss: new Uint8Array(10) };
  assert.throws(() => checkLengths([long], 8), /chat\.jsonl:7: the conversation is 10 tokens, longer than the limit of 9 \(training\.sequenceLength 8 \+ 1/);
  assert.throws(() => new ChatBatches([long], { seqLen: 8, mtpDepth: 1, packing: true }, 1), /chat\.jsonl:7/);
  checkLengths([long], 9);
});

test('ChatBatches: epochs of seeded orders, steps from the packed windows, the position wraps to the next epoch', () => {
  const samples = Array.from({ length: 5 }, (_, i) => ({ where: `d:${i + 1}`, ids: Int32Array.from({ length: 3 }, () => i + 1), loss: Uint8Array.of(0, 1, 1) }));
  const src = new ChatBatches(samples, { seqLen: 5, mtpDepth: 0, packing: true }, 7);
  // Capacity 6: two samples a window → 3 windows an epoch (2 + 2 + 1); 2 epochs at 2 windows a step → ⌈6/2⌉ = 3.
  assert.equal(src.windowsOf(0).length, 3);
  assert.equal(src.stepsFor(2, 2), 3);
  for (let s = 0; s < 3; s++) src.nextBatch(2);
  // Six windows drawn: the end of epoch 1 (the position moves to epoch 2 when the next window is drawn).
  assert.deepEqual(src.pos, { epoch: 1, index: 3 });
  // Every sample appears once per epoch: both epochs together hold each id twice.
  const again = new ChatBatches(samples, { seqLen: 5, mtpDepth: 0, packing: true }, 7);
  const ids: number[] = [];
  for (let s = 0; s < 3; s++) for (const t of again.nextBatch(2).tokens) if (t > 0) ids.push(t);
  assert.deepEqual(ids.sort(), [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5]);
  // Held-out batches keep file order.
  const h = heldOutBatches(samples, { seqLen: 5, mtpDepth: 0, packing: true }, 2);
  assert.deepEqual(h.map((b) => b.rows), [2, 1]);
  assert.deepEqual(Array.from(h[0]!.tokens.subarray(0, 6)), [1, 1, 1, 2, 2, 2]);
});

test('the plan document: mode sft reads data.format chat, training.sft and data.heldOutUri', () => {
  const base = defaultTrainOptions();
  const s = settingsFromPlan({ training: { mode: 'sft', sft: { epochs: 3, packing: false }, steps: 50 }, data: { format: 'chat', uri: 'file:///d/train.jsonl', heldOutUri: 'file:///d/held.jsonl' } } as never, base);
  assert.deepEqual(s.options.sft, { epochs: 3, packing: false, heldOutPath: '/d/held.jsonl' });
  assert.equal(s.dataPath, '/d/train.jsonl');
  const d = settingsFromPlan({ training: { mode: 'sft' }, data: { format: 'chat', uri: '/d/t.jsonl' } } as never, base);
  assert.deepEqual(d.options.sft, { epochs: 2, packing: true });
  assert.throws(() => settingsFromPlan({ training: { mode: 'sft' }, data: { format: 'jsonl', uri: '/d' } } as never, base), /training\.mode sft needs data\.format chat, got jsonl/);
  assert.throws(() => settingsFromPlan({ training: {}, data: { format: 'chat', uri: '/d' } } as never, base), /data\.format chat is read by training\.mode sft/);
});

test('the training report: held-out rows do not replace a step\'s loss and get their own chart', () => {
  const rows = [
    { step: 0, heldOutLoss: 3.2 }, { step: 1, loss: 5, mainLoss: 4 }, { step: 2, loss: 4, mainLoss: 3 }, { step: 2, heldOutLoss: 2.5 },
  ] as MetricRow[];
  assert.deepEqual(lastPerStep(rows).map((r) => [r.step, r.mainLoss]), [[1, 4], [2, 3]]);
  assert.deepEqual(heldOutPoints(rows), [[0, 3.2], [2, 2.5]]);
  const svgs = buildReport([{ label: 'sft', rows: lastPerStep(rows), heldOut: heldOutPoints(rows) }]);
  assert.ok(svgs.get('held-out.svg')?.includes('held-out assistant-token loss'));
  assert.equal(buildReport([{ label: 'pre', rows: lastPerStep(rows) }]).has('held-out.svg'), false);
});
