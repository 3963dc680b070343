// vLLM's tokenizer endpoints on the router, so a client counts tokens exactly as this server does (lm-evaluation-
// harness's `tokenizer_backend=remote` finds them by stripping /v1/completions from its base_url):
//   POST /tokenize {"prompt": string}   → {"count", "tokens", "max_model_len": null}
//   POST /detokenize {"tokens": ids}    → {"prompt": string}
//   GET  /tokenizer_info                → {"tokenizer_class", "vocab_size", "eos_token", "bos_token", "pad_token"}
// The project's tokenizers have no special tokens, so those are null (a client then adds none).
import type { Tokenizer } from '../../data/tokenizer.js';
import { readJson } from './body.js';
import { invalidField, sendJson } from './errors.js';
import type { Handler } from './server.js';

function object(v: unknown): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalidField('body', 'the body must be a JSON object');
  return v as Record<string, unknown>;
}

export function tokenizerRoutes(tokenizer: Tokenizer, bodyLimit: number): Record<string, Handler> {
  return {
    'POST /tokenize': async (req, res) => {
      const b = object(await readJson(req, bodyLimit));
      if (typeof b.prompt !== 'string') throw invalidField('prompt', 'prompt must be a string (this endpoint does not render chat messages)');
      if (b.add_special_tokens !== undefined && typeof b.add_special_tokens !== 'boolean') throw invalidField('add_special_tokens', 'add_special_tokens must be true or false');
      const tokens = Array.from(tokenizer.encode(b.prompt));
      sendJson(res, 200, { count: tokens.length, max_model_len: null, tokens });
    },
    'POST /detokenize': async (req, res) => {
      const b = object(await readJson(req, bodyLimit));
      const t = b.tokens;
      if (!Array.isArray(t)) throw invalidField('tokens', 'tokens must be an array of token ids');
      const bad = t.findIndex((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= tokenizer.vocabSize);
      if (bad >= 0) throw invalidField('tokens', `tokens[${bad}] = ${JSON.stringify(t[bad])} is not a token id in [0, ${tokenizer.vocabSize})`);
      sendJson(res, 200, { prompt: tokenizer.decode(t as number[]) });
    },
    'GET /tokenizer_info': async (_req, res) => {
      sendJson(res, 200, { tokenizer_class: `moe-operator/${tokenizer.kind}`, vocab_size: tokenizer.vocabSize, eos_token: null, bos_token: null, pad_token: null });
    },
  };
}
