// Tokenizers against HuggingFace `tokenizers` from PyPI (hf_tokenizers.py): our tokenizers exported in HuggingFace's
// format encode there exactly as here, and tokenizers trained by `tokenizers` (GPT-2's split, and DeepSeek-V3's
// released pre-tokenizer, with DeepSeek's special tokens) encode here exactly as there. An export folder loads in
// transformers' AutoConfig and AutoTokenizer (these need no torch) with the same architecture, ids and chat text.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bpeTokenizer, trainBpe } from '../../../runtime/src/data/bpe.js';
import { hfTokenizerFromJSON, toHfTokenizerJSON } from '../../../runtime/src/data/hf-tokenizer.js';
import { byteTokenizer, tokenizerFromJSON, type Tokenizer } from '../../../runtime/src/data/tokenizer.js';
import { pythonJson, pythonWith } from '../../util/python.js';
import { writeExport } from '../../../runtime/src/checkpoint/export.js';
import { renderChat } from '../../../runtime/src/data/chat-template.js';
import { modelConfig } from '../../../runtime/src/model/config.js';
import { Rng } from '../../../runtime/src/model/rng.js';
import { alloc32 } from '../../../runtime/src/model/tensor.js';
import { buildParams } from '../../../runtime/src/model/transformer.js';
import { microOverrides } from '../runtime/fixtures.js';

const root = path.resolve(fileURLToPath(import.meta.url), '../../../../..');
const script = path.join(root, 'test/unit/interop/hf_tokenizers.py');
const corpus = path.join(root, 'examples/corpus/fables.txt');

const TEXTS = [
  'The red fox jumps over the lazy dog.',
  '  two  spaces,\ttab and\nnewline\n\n',
  'digits 1234567 and 3.14159, 2026-12-07',
  "it's what they'd say: don't!",
  'café naïve — “quotes” …',
  '中文字符和ひらがなカタカナ',
  'emoji 👍🏽 and \u00a0non-breaking space',
  'specials <｜User｜>hello<｜Assistant｜>hi<｜end▁of▁sentence｜>',
  '',
  readFileSync(corpus, 'utf8').slice(0, 2000),
];

interface PyEncoding { ids: number[]; decoded: string }

describe('HuggingFace tokenizer.json interop', () => {
  let py: string;
  let dir: string;
  before(() => {
    py = pythonWith(['tokenizers']);
    dir = mkdtempSync(path.join(tmpdir(), 'moe-hf-tok-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const pyEncode = (json: object, name: string): PyEncoding[] => {
    const tf = path.join(dir, `${name}.json`);
    const xf = path.join(dir, `${name}-texts.json`);
    writeFileSync(tf, JSON.stringify(json));
    writeFileSync(xf, JSON.stringify(TEXTS));
    return pythonJson(py, script, ['encode', tf, xf]) as PyEncoding[];
  };

  const sameAsPython = (t: Tokenizer, theirs: PyEncoding[]): void => {
    TEXTS.forEach((text, i) => {
      assert.deepEqual(Array.from(t.encode(text)), theirs[i].ids, `ids of text ${i} ${JSON.stringify(text.slice(0, 40))}`);
      assert.equal(t.decode(theirs[i].ids), theirs[i].decoded, `decode of text ${i}`);
    });
  };

  for (const [name, ours] of [['byte', () => byteTokenizer], ['our BPE', () => bpeTokenizer(trainBpe(readFileSync(corpus, 'utf8'), 400))]] as const) {
    it(`our ${name} tokenizer, exported, encodes in HuggingFace tokenizers exactly as here`, () => {
      const t = ours();
      const theirs = pyEncode(toHfTokenizerJSON(t), name.replace(' ', '-'));
      sameAsPython(t, theirs);
      TEXTS.forEach((text, i) => assert.equal(theirs[i].decoded, text, `text ${i} decodes back`));
      // Loading the exported file gives a tokenizer that encodes as the original.
      sameAsPython(tokenizerFromJSON(toHfTokenizerJSON(t)), theirs);
    });
  }

  for (const kind of ['gpt2', 'deepseek']) {
    it(`a ${kind}-style byte-level BPE trained by HuggingFace tokenizers, with added tokens, encodes here exactly as there`, () => {
      const out = path.join(dir, `trained-${kind}.json`);
      pythonJson(py, script, ['train', kind, corpus, out]);
      const json = JSON.parse(readFileSync(out, 'utf8'));
      const t = tokenizerFromJSON(json);
      assert.equal(t.kind, 'hf');
      assert.ok(t.vocabSize > 256 + 4, `vocabulary of ${t.vocabSize}`);
      sameAsPython(t, pyEncode(json, `trained-${kind}-again`));
      // The special tokens are single ids, whatever surrounds them.
      const eos = hfTokenizerFromJSON(json).added.find((a) => a.content === '<｜end▁of▁sentence｜>')!;
      assert.deepEqual(Array.from(t.encode('<｜end▁of▁sentence｜>')), [eos.id]);
      // Every token's bytes put together give the decoded text (incremental detokenisation relies on it).
      const ids = t.encode(TEXTS[4]);
      assert.equal(Buffer.concat(Array.from(ids, (id) => t.tokenBytes(id)!)).toString('utf8'), TEXTS[4]);
    });
  }

  it('refuses what it does not implement, by field', () => {
    const base = toHfTokenizerJSON(byteTokenizer);
    assert.throws(() => tokenizerFromJSON({ ...base, normalizer: { type: 'NFKC' } }), /tokenizer\.json: normalizer: "NFKC" is not implemented/);
    assert.throws(() => tokenizerFromJSON({ ...base, model: { type: 'WordPiece', vocab: {} } }), /tokenizer\.json: model\.type: "WordPiece" is not implemented/);
    assert.throws(() => tokenizerFromJSON({ ...base, pre_tokenizer: { type: 'Metaspace' } }), /pre_tokenizer\.type: pre-tokenizer "Metaspace" is not implemented/);
    assert.throws(() => tokenizerFromJSON({ ...base, pre_tokenizer: { type: 'Split', pattern: { Regex: '(' }, behavior: 'Isolated' } }), /pre_tokenizer\.pattern: the pattern "\(" is not a regular expression/);
    assert.throws(() => tokenizerFromJSON({ ...base, model: { ...(base.model as object), byte_fallback: true } }), /model\.byte_fallback/);
  });
});

describe('an export folder in transformers (AutoConfig, AutoTokenizer; no torch needed)', () => {
  it('loads with the architecture, the tokenizer encoding as ours, and the router\'s chat template', () => {
    const py = pythonWith(['transformers', 'tokenizers']);
    const dir = mkdtempSync(path.join(tmpdir(), 'moe-hf-export-'));
    try {
      const c = modelConfig('deepseek-v3-tiny', { ...microOverrides, q_lora_rank: 0 });
      const P = buildParams(c, alloc32, new Rng(3));
      const weights = new Map([...P.list().map((p) => [p.name, p.data as Float32Array] as const), ...[...P.buffers].map(([n, b]) => [n, b as Float32Array] as const)]);
      const tok = bpeTokenizer(trainBpe(readFileSync(corpus, 'utf8'), 300));
      writeExport(path.join(dir, 'export'), c, weights, { tokenizer: tok.toJSON(), maxPositions: 256 });
      const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Who is the fox?' }, { role: 'assistant', content: 'A red one.' }, { role: 'user', content: 'Why?' }] as const;
      writeFileSync(path.join(dir, 'texts.json'), JSON.stringify(TEXTS));
      writeFileSync(path.join(dir, 'messages.json'), JSON.stringify(messages));
      const r = pythonJson(py, script, ['folder', path.join(dir, 'export'), path.join(dir, 'texts.json'), path.join(dir, 'messages.json')]) as {
        config: Record<string, unknown>; rope: Record<string, unknown>; tokenizer_class: string; ids: number[][]; chat: string;
      };
      assert.deepEqual(r.config, {
        model_type: 'deepseek_v3', num_key_value_heads: c.num_attention_heads, num_attention_heads: c.num_attention_heads, q_lora_rank: null, kv_lora_rank: c.kv_lora_rank,
        hidden_size: c.hidden_size, max_position_embeddings: 256, n_routed_experts: c.n_routed_experts, num_experts_per_tok: c.num_experts_per_tok,
        routed_scaling_factor: 2.5, head_dim: c.qk_rope_head_dim,
      });
      assert.equal(r.rope.rope_theta, c.rope_theta);
      assert.equal(r.rope.rope_type, 'default');
      assert.equal(r.tokenizer_class, 'TokenizersBackend');
      TEXTS.forEach((text, i) => assert.deepEqual(r.ids[i], Array.from(tok.encode(text)), `ids of text ${i}`));
      assert.equal(r.chat, renderChat(messages));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
