// The one writer of bench/results/<name>.json, so every result names its bench, date and machine the same way (the
// CPU model matters: kernels and ratios differ between CPUs). `make bench` writes these files; they are not committed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/bench/result-file.js → repository root. */
export const repoRoot = resolve(fileURLToPath(import.meta.url), '../../..');
export const resultsDir = join(repoRoot, 'bench', 'results');

/** The machine fields every result carries; `extra` adds a bench's own (kernel path, thread settings). */
export function machine(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cpu: cpus()[0]?.model, cpus: cpus().length, loadavg: loadavg().map((x) => +x.toFixed(2)), node: process.version, ...extra };
}

/** Writes bench/results/<name>.json and returns its path. */
export function writeResult(name: string, body: Record<string, unknown>, machineExtra: Record<string, unknown> = {}): string {
  // A body's own bench/date/machine would silently replace these (and lose the CPU model): refuse it.
  for (const k of ['bench', 'date', 'machine']) {
    if (k in body) throw new Error(`writeResult('${name}'): the body has its own '${k}'; writeResult sets it (pass machine fields as machineExtra)`);
  }
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ bench: name, date: new Date().toISOString(), machine: machine(machineExtra), ...body }, null, 2) + '\n');
  return file;
}

/** writeResult, with the body and the file's path on stdout (the benches that print their whole result). */
export function writeAndPrintResult(name: string, body: Record<string, unknown>, machineExtra: Record<string, unknown> = {}): string {
  const file = writeResult(name, body, machineExtra);
  console.log(JSON.stringify(body, null, 2));
  console.log(`wrote ${file}`);
  return file;
}
