// Argument checks for the wrappers: every message names the function, the argument, what was
// expected and what was given.

export type TypedArrayCtor = Float32ArrayConstructor | Uint16ArrayConstructor | Uint8ArrayConstructor | Int32ArrayConstructor;

function describe(v: unknown): string {
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as { length: number }).length})`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return `Array(${v.length})`;
  return typeof v;
}

/** A non-negative safe integer dimension. */
export function dim(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v >= 2 ** 40) {
    throw new TypeError(`${fn}: ${name} must be an integer in [0, 2^40), got ${typeof v === 'number' ? v : describe(v)}`);
  }
  return v;
}

/** A typed array of the given kind and exact length; `shape` says where the length comes from. */
export function array<C extends TypedArrayCtor>(fn: string, name: string, v: unknown, ctor: C, length: number, shape: string): InstanceType<C> {
  if (!(v instanceof ctor)) {
    throw new TypeError(`${fn}: ${name} must be a ${ctor.name} of length ${length} (${shape}), got ${describe(v)}`);
  }
  if ((v as { length: number }).length !== length) {
    throw new RangeError(`${fn}: ${name} must have length ${length} (${shape}), got ${(v as { length: number }).length}`);
  }
  return v as InstanceType<C>;
}

/** A finite number, optionally bounded below (exclusive). */
export function finite(fn: string, name: string, v: unknown, above?: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (above !== undefined && !(v > above))) {
    throw new TypeError(`${fn}: ${name} must be a finite number${above !== undefined ? ` > ${above}` : ''}, got ${String(v)}`);
  }
  return v;
}

export function ceilDiv(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}
