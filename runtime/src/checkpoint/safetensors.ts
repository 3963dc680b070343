// safetensors, our own reader and writer: 8-byte little-endian header length N, N bytes of JSON
// ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}), then the raw little-endian
// data, offsets relative to the end of the header. The header is padded with spaces to a multiple of 8.
export type Dtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'F8_E4M3' | 'F8_E5M2' | 'I64' | 'I32' | 'U32' | 'I16' | 'U16' | 'I8' | 'U8' | 'BOOL';

export const DTYPE_BYTES: Record<Dtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, F8_E4M3: 1, F8_E5M2: 1, I64: 8, I32: 4, U32: 4, I16: 2, U16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface TensorEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Raw little-endian bytes. */
  data: Uint8Array;
}

export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Header bytes (with the 8-byte length prefix) and the total file size, for tensors of the given sizes. */
export function encodeHeader(entries: { name: string; dtype: Dtype; shape: number[]; byteLength: number }[], metadata: Record<string, string> = {}): { header: Uint8Array; size: number } {
  const obj: Record<string, unknown> = {};
  if (Object.keys(metadata).length) obj.__metadata__ = metadata;
  let off = 0;
  for (const e of entries) {
    if (!(e.dtype in DTYPE_BYTES)) throw new Error(`safetensors: tensor ${e.name} has unknown dtype ${e.dtype}`);
    const n = e.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[e.dtype];
    if (n !== e.byteLength) throw new Error(`safetensors: tensor ${e.name} has ${e.byteLength} bytes, but ${e.dtype}${JSON.stringify(e.shape)} needs ${n}`);
    if (e.name in obj) throw new Error(`safetensors: tensor ${e.name} appears twice`);
    obj[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + n] };
    off += n;
  }
  let json = JSON.stringify(obj);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const body = Buffer.from(json, 'utf8');
  const header = new Uint8Array(8 + body.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(body.length), true);
  header.set(body, 8);
  return { header, size: header.length + off };
}

/** The whole file in memory. */
export function serialize(entries: TensorEntry[], metadata: Record<string, string> = {}): Uint8Array {
  const { header, size } = encodeHeader(entries.map((e) => ({ ...e, byteLength: e.data.byteLength })), metadata);
  const out = new Uint8Array(size);
  out.set(header, 0);
  let off = header.length;
  for (const e of entries) {
    out.set(e.data, off);
    off += e.data.byteLength;
  }
  return out;
}

export interface ParsedFile {
  metadata: Record<string, string>;
  tensors: Map<string, TensorEntry>;
}

/** A header entry: dtype, shape and byte offsets relative to the start of the data. */
export interface HeaderEntry { dtype: Dtype; shape: number[]; begin: number; end: number }

/** Parses the JSON header (the bytes after the 8-byte length): its metadata and each tensor's entry, checked for a
 *  known dtype and present shape/offsets. Used for whole files and by readers that read only the header. */
export function parseHeader(json: Uint8Array, label = 'safetensors'): { metadata: Record<string, string>; entries: Map<string, HeaderEntry> } {
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(Buffer.from(json).toString('utf8'));
  } catch (e) {
    throw new Error(`${label}: header is not valid JSON (${(e as Error).message})`);
  }
  const entries = new Map<string, HeaderEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(obj)) {
    if (name === '__metadata__') {
      metadata = v as Record<string, string>;
      continue;
    }
    const t = v as { dtype?: Dtype; shape?: number[]; data_offsets?: [number, number] };
    if (!t.dtype || !(t.dtype in DTYPE_BYTES)) throw new Error(`${label}: tensor ${name} has unknown dtype ${String(t.dtype)}`);
    if (!Array.isArray(t.shape) || !Array.isArray(t.data_offsets)) throw new Error(`${label}: tensor ${name} lacks shape or data_offsets`);
    entries.set(name, { dtype: t.dtype, shape: t.shape, begin: t.data_offsets[0], end: t.data_offsets[1] });
  }
  return { metadata, entries };
}

/** Parses and validates a whole file; every error names the tensor or the header field. */
export function parse(buf: Uint8Array, label = 'safetensors'): ParsedFile {
  if (buf.length < 8) throw new Error(`${label}: file is ${buf.length} bytes, shorter than the 8-byte header length`);
  const n = Number(new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true));
  if (8 + n > buf.length) throw new Error(`${label}: header length ${n} runs past the end of the ${buf.length}-byte file (truncated?)`);
  const { metadata, entries } = parseHeader(buf.subarray(8, 8 + n), label);
  const dataStart = 8 + n;
  const tensors = new Map<string, TensorEntry>();
  for (const [name, { dtype, shape, begin: b, end: e }] of entries) {
    const want = shape.reduce((a, x) => a * x, 1) * DTYPE_BYTES[dtype];
    if (e - b !== want) throw new Error(`${label}: tensor ${name} spans ${e - b} bytes, but ${dtype}${JSON.stringify(shape)} needs ${want}`);
    if (dataStart + e > buf.length) throw new Error(`${label}: tensor ${name} ends at byte ${dataStart + e}, past the end of the ${buf.length}-byte file (truncated?)`);
    tensors.set(name, { name, dtype, shape, data: buf.subarray(dataStart + b, dataStart + e) });
  }
  return { metadata, tensors };
}

/** A tensor's bytes copied into an aligned typed array of the given kind. */
export function asF32(t: TensorEntry): Float32Array {
  if (t.dtype !== 'F32') throw new Error(`tensor ${t.name} is ${t.dtype}, expected F32`);
  return new Float32Array(Uint8Array.from(t.data).buffer);
}

export function asU16(t: TensorEntry): Uint16Array {
  if (t.dtype !== 'BF16' && t.dtype !== 'U16' && t.dtype !== 'F16') throw new Error(`tensor ${t.name} is ${t.dtype}, expected a 16-bit dtype`);
  return new Uint16Array(Uint8Array.from(t.data).buffer);
}
