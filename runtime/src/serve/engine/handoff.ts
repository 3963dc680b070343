// The KV hand-off from a prefill pod to a decode pod, as bytes:
//   0   4  magic "MOEK"
//   4   4  u32 LE format version (1)
//   8   4  u32 LE header length N
//   12  N  UTF-8 JSON header {id, promptLen, firstToken, layers, kvLoraRank, ropeDim, dtype: "f32"|"bf16"}, and when
//          the request asked for log-probabilities firstLogprob {logprob, top: [{id, logprob}]} and (echo)
//          promptLogprobs [promptLen - 1 of those] (JSON numbers round-trip float64 exactly)
//   …      padding to a multiple of 4
//   …      prompt ids: promptLen × i32 LE
//   …      per layer: latent c_kv [promptLen, kvLoraRank] then k_pe [promptLen, ropeDim], as f32 LE (4 bytes) or
//          bf16 (the high half of the f32, round-to-nearest-even, 2 bytes; halves the transfer, not exact)
//   …      only when the header has "mtp": {"hiddenSize": d} (the decode pod drafts with the MTP module): the module's
//          c_kv [promptLen-1, kvLoraRank], k_pe [promptLen-1, ropeDim] and the main model's last hidden state [d],
//          in the same element type
// f32 is the default because it makes a handed-off decode bit-identical to a local one. decodeHandoff checks every
// length against the header and the header against the model and names what does not match.
import type { RuntimeModelConfig } from '../../model/config.js';
import { fromBf16, toBf16 } from '../../model/fp8.js';
import { asTokenLogprob } from './logprobs.js';
import type { Handoff, TokenLogprob } from './types.js';

const MAGIC = 0x4b454f4d; // "MOEK" read as u32 LE
export const HANDOFF_VERSION = 1;

interface Header {
  id: string;
  promptLen: number;
  firstToken: number;
  layers: number;
  kvLoraRank: number;
  ropeDim: number;
  dtype: 'f32' | 'bf16';
  firstLogprob?: TokenLogprob;
  promptLogprobs?: TokenLogprob[];
  mtp?: { hiddenSize: number };
}

const pad4 = (n: number): number => (n + 3) & ~3;

export function encodeHandoff(h: Handoff, opts: { dtype?: 'f32' | 'bf16' } = {}): Uint8Array {
  const dtype = opts.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'bf16') throw new Error(`encodeHandoff: dtype must be f32 or bf16, got ${String(dtype)}`);
  const n = h.promptIds.length;
  const layers = h.latent.length;
  if (h.kpe.length !== layers) throw new Error(`encodeHandoff: ${layers} latent layers but ${h.kpe.length} k_pe layers`);
  const kr = n > 0 && layers > 0 ? h.latent[0].length / n : 0;
  const dr = n > 0 && layers > 0 ? h.kpe[0].length / n : 0;
  for (let l = 0; l < layers; l++) {
    if (h.latent[l].length !== n * kr || h.kpe[l].length !== n * dr) throw new Error(`encodeHandoff: layer ${l} sizes differ from layer 0`);
  }
  const header: Header = { id: h.id, promptLen: n, firstToken: h.firstToken, layers, kvLoraRank: kr, ropeDim: dr, dtype };
  if (h.firstLogprob) header.firstLogprob = h.firstLogprob;
  if (h.promptLogprobs) header.promptLogprobs = h.promptLogprobs;
  const mtp = h.mtp;
  if (mtp) {
    if (mtp.latent.length !== (n - 1) * kr || mtp.kpe.length !== (n - 1) * dr) throw new Error(`encodeHandoff: the MTP cache must hold promptLen - 1 = ${n - 1} entries`);
    header.mtp = { hiddenSize: mtp.hidden.length };
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const eb = dtype === 'f32' ? 4 : 2;
  const idsAt = pad4(12 + json.length);
  const payloadAt = idsAt + 4 * n;
  const total = payloadAt + (layers * n * (kr + dr) + (mtp ? (n - 1) * (kr + dr) + mtp.hidden.length : 0)) * eb;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, HANDOFF_VERSION, true);
  dv.setUint32(8, json.length, true);
  out.set(json, 12);
  for (let i = 0; i < n; i++) dv.setInt32(idsAt + 4 * i, h.promptIds[i], true);
  let off = payloadAt;
  const put = (a: Float32Array): void => {
    for (let i = 0; i < a.length; i++, off += eb) {
      if (eb === 4) dv.setFloat32(off, a[i], true);
      else dv.setUint16(off, toBf16(a[i]), true);
    }
  };
  for (let l = 0; l < layers; l++) {
    put(h.latent[l]);
    put(h.kpe[l]);
  }
  if (mtp) {
    put(mtp.latent);
    put(mtp.kpe);
    put(mtp.hidden);
  }
  return out;
}

export function decodeHandoff(bytes: Uint8Array, c: RuntimeModelConfig): Handoff {
  const fail = (m: string): never => {
    throw new Error(`KV hand-off: ${m}`);
  };
  if (!(bytes instanceof Uint8Array)) fail('expected bytes (Uint8Array)');
  if (bytes.length < 12) fail(`${bytes.length} bytes is shorter than the 12-byte preamble (truncated?)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) fail('bad magic: not a hand-off blob (expected "MOEK")');
  const version = dv.getUint32(4, true);
  if (version !== HANDOFF_VERSION) fail(`format version ${version} is not supported (this engine reads version ${HANDOFF_VERSION})`);
  const hl = dv.getUint32(8, true);
  if (12 + hl > bytes.length) fail(`header of ${hl} bytes runs past the end of the ${bytes.length}-byte blob (truncated?)`);
  let h: Header;
  try {
    h = JSON.parse(Buffer.from(bytes.subarray(12, 12 + hl)).toString('utf8')) as Header;
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof h.id !== 'string') fail('header.id must be a string');
  for (const k of ['promptLen', 'firstToken', 'layers', 'kvLoraRank', 'ropeDim'] as const) {
    if (!Number.isInteger(h[k]) || h[k] < 0) fail(`header.${k} must be an integer >= 0, got ${String(h[k])}`);
  }
  if (h.dtype !== 'f32' && h.dtype !== 'bf16') fail(`header.dtype must be f32 or bf16, got ${String(h.dtype)}`);
  if (h.layers !== c.num_hidden_layers) fail(`the blob has ${h.layers} layers, this model ${c.num_hidden_layers} (a different model?)`);
  if (h.kvLoraRank !== c.kv_lora_rank) fail(`the blob's kv_lora_rank is ${h.kvLoraRank}, this model's ${c.kv_lora_rank}`);
  if (h.ropeDim !== c.qk_rope_head_dim) fail(`the blob's qk_rope_head_dim is ${h.ropeDim}, this model's ${c.qk_rope_head_dim}`);
  if (h.promptLen === 0) fail('the blob holds an empty prompt');
  if (h.firstToken >= c.vocab_size) fail(`first token ${h.firstToken} is outside the vocabulary [0, ${c.vocab_size})`);
  const n = h.promptLen;
  let firstLogprob: TokenLogprob | undefined;
  let promptLogprobs: TokenLogprob[] | undefined;
  if (h.firstLogprob !== undefined) firstLogprob = asTokenLogprob(h.firstLogprob) ?? fail('header.firstLogprob must be {logprob, top: [{id, logprob}]}');
  if (h.promptLogprobs !== undefined) {
    if (!Array.isArray(h.promptLogprobs) || h.promptLogprobs.length !== n - 1) fail(`header.promptLogprobs must be an array of promptLen - 1 = ${n - 1} entries`);
    promptLogprobs = h.promptLogprobs.map((e, i) => asTokenLogprob(e) ?? fail(`header.promptLogprobs[${i}] must be {logprob, top: [{id, logprob}]}`));
  }
  if (h.mtp !== undefined && (typeof h.mtp !== 'object' || h.mtp === null || h.mtp.hiddenSize !== c.hidden_size)) fail(`header.mtp must be {"hiddenSize": ${c.hidden_size}} (this model's hidden_size), got ${JSON.stringify(h.mtp)}`);
  const eb = h.dtype === 'f32' ? 4 : 2;
  const idsAt = pad4(12 + hl);
  const payloadAt = idsAt + 4 * n;
  const mtpValues = h.mtp ? (n - 1) * (h.kvLoraRank + h.ropeDim) + c.hidden_size : 0;
  const want = payloadAt + (h.layers * n * (h.kvLoraRank + h.ropeDim) + mtpValues) * eb;
  if (bytes.length !== want) fail(`the blob has ${bytes.length} bytes, its header (${n} tokens, ${h.layers} layers${h.mtp ? ' + MTP' : ''}, ${h.dtype}) needs ${want}${bytes.length < want ? ' (truncated?)' : ''}`);
  const promptIds = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    promptIds[i] = dv.getInt32(idsAt + 4 * i, true);
    if (promptIds[i] < 0 || promptIds[i] >= c.vocab_size) fail(`prompt token ${i} is id ${promptIds[i]}, outside the vocabulary`);
  }
  let off = payloadAt;
  const take = (len: number): Float32Array => {
    const a = new Float32Array(len);
    for (let i = 0; i < len; i++, off += eb) a[i] = eb === 4 ? dv.getFloat32(off, true) : fromBf16(dv.getUint16(off, true));
    return a;
  };
  const latent: Float32Array[] = [];
  const kpe: Float32Array[] = [];
  for (let l = 0; l < h.layers; l++) {
    latent.push(take(n * h.kvLoraRank));
    kpe.push(take(n * h.ropeDim));
  }
  const mtp = h.mtp ? { latent: take((n - 1) * h.kvLoraRank), kpe: take((n - 1) * h.ropeDim), hidden: take(c.hidden_size) } : undefined;
  return { id: h.id, promptIds, firstToken: h.firstToken, latent, kpe, ...(firstLogprob ? { firstLogprob } : {}), ...(promptLogprobs ? { promptLogprobs } : {}), ...(mtp ? { mtp } : {}) };
}
