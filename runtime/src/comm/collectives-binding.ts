// Loads the Gloo collectives addon (runtime/collectives/build/Release/moe_collectives.node), separate from the
// kernels addon so that the kernels and the single-process trainer work where Gloo is absent.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

type Cb = (err: Error | null) => void;
type View = ArrayBufferView;

export interface ConnectOptions {
  rank: number;
  size: number;
  storeHost: string;
  storePort: number;
  prefix: string;
  hostname?: string;
  iface?: string;
  timeoutMs: number;
}

export interface RawCollectives {
  connect(o: ConnectOptions, cb: (err: Error | null, handle: number) => void): void;
  close(handle: number): boolean;
  send(h: number, buf: View, dst: number, tag: number, timeoutMs: number, cb?: Cb): void;
  recv(h: number, buf: View, src: number, tag: number, timeoutMs: number, cb?: Cb): void;
  allreduce(h: number, buf: Float32Array, tag: number, timeoutMs: number, cb?: Cb): void;
  alltoallv(h: number, input: View, inBytes: number[], output: View, outBytes: number[], tag: number, timeoutMs: number, cb?: Cb): void;
  reduceScatter(h: number, input: Float32Array, counts: number[], output: Float32Array, tag: number, timeoutMs: number, cb?: Cb): void;
  allgather(h: number, input: View, output: View, tag: number, timeoutMs: number, cb?: Cb): void;
  barrier(h: number, tag: number, timeoutMs: number, cb?: Cb): void;
}

/** MOE_COLLECTIVES_ADDON, else relative to this compiled file in dist/. */
export function collectivesAddonPath(): string {
  if (process.env.MOE_COLLECTIVES_ADDON) return process.env.MOE_COLLECTIVES_ADDON;
  const here = path.dirname(fileURLToPath(import.meta.url));
  // dist/runtime/src/parallel/ -> <repo>/runtime/collectives/build/Release/
  return path.resolve(here, '../../../../runtime/collectives/build/Release/moe_collectives.node');
}

let cached: RawCollectives | undefined;

export function collectivesAvailable(): boolean {
  return existsSync(collectivesAddonPath());
}

export function collectives(): RawCollectives {
  if (cached) return cached;
  const file = collectivesAddonPath();
  if (!existsSync(file)) {
    throw new Error(`Gloo collectives addon not found at ${file}: build it with ` +
      '"bash runtime/collectives/install-deps.sh && cd runtime/collectives && npx node-gyp rebuild" (needs libgloo-dev)');
  }
  cached = createRequire(import.meta.url)(file) as RawCollectives;
  return cached;
}
