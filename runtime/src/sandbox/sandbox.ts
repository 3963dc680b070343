// Runs one untrusted candidate program (I/O: a subprocess). Code evaluation (../eval/code-task.ts) runs each
// completion + its unit tests here; GRPO's code reward (issue 13) is meant to share it. What isolates it, exactly
// (README.md): a fresh temporary directory as cwd and HOME, removed afterwards; an environment holding only PATH and
// HOME; stdin from /dev/null; a new process group killed with SIGKILL at the wall-clock timeout; address-space, CPU-time
// and file-size limits (prlimit, else ulimit); no network (an empty network namespace, see isolation.ts, else reported
// as none); stdout and stderr kept up to a byte limit each. It runs as the caller's user with the caller's view of the
// filesystem: the pod's securityContext is the boundary for reads.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeIsolation, detectIsolation, onPath, type Isolation } from './isolation.js';

export const SANDBOX_LANGUAGES = ['python', 'javascript'] as const;
export type SandboxLanguage = typeof SANDBOX_LANGUAGES[number];

export interface SandboxLimits {
  /** Wall clock; the process group is killed at this time. */
  timeoutMs: number;
  /** Address space (python) or V8 heap (javascript: V8 reserves ~2 GiB of address space up front, added on top). */
  memoryMiB: number;
  /** Bytes kept of stdout and of stderr each; the rest is read and dropped. */
  outputBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = { timeoutMs: 10_000, memoryMiB: 512, outputBytes: 64 * 1024 };

export interface SandboxResult {
  /** passed: exit status 0; failed: another status or a signal; timeout: killed at the wall-clock limit. */
  status: 'passed' | 'failed' | 'timeout';
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  ms: number;
  /** What isolated this run, e.g. "network=netns limits=prlimit". */
  isolation: string;
}

/** The interpreter a language needs is not installed where the sandbox looks for it. */
export class InterpreterMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InterpreterMissingError';
  }
}

/** Address space V8 reserves before it runs anything (measured: node 24 needs ~1.3 GiB to start; 2 GiB leaves room). */
const V8_RESERVE_MIB = 2048;
const FILE_SIZE_MIB = 64;

/** The interpreter's argv for `file` (python: python3 on PATH; javascript: the node running this process). */
export function interpreter(language: SandboxLanguage, file: string, memoryMiB: number, pathVar: string): string[] {
  if (language === 'python') {
    const py = onPath('python3', pathVar);
    if (!py) throw new InterpreterMissingError(`python3 is not on PATH (${pathVar || 'empty'}): python code tasks need it (the runtime image carries it: scripts/images/base.sh), or use language "javascript"`);
    // -I: ignore PYTHON* variables and the user's site-packages; -B: write no .pyc files.
    return [py, '-I', '-B', file];
  }
  if (language === 'javascript') return [process.execPath, `--max-old-space-size=${memoryMiB}`, file];
  throw new InterpreterMissingError(`no interpreter for language ${JSON.stringify(language)}; one of ${SANDBOX_LANGUAGES.join(', ')}`);
}

/** The full argv: network namespace, then resource limits, then the interpreter. */
export function sandboxArgv(iso: Isolation, language: SandboxLanguage, argv: string[], limits: SandboxLimits): string[] {
  const asMiB = limits.memoryMiB + (language === 'javascript' ? V8_RESERVE_MIB : 0);
  const cpu = Math.ceil(limits.timeoutMs / 1000) + 1;
  const limited = iso.limits === 'prlimit'
    ? [iso.limitTool, `--as=${asMiB * 1024 * 1024}`, `--cpu=${cpu}`, `--fsize=${FILE_SIZE_MIB * 1024 * 1024}`, '--', ...argv]
    : [iso.limitTool, '-c', `ulimit -v ${asMiB * 1024} && ulimit -t ${cpu} && ulimit -f ${FILE_SIZE_MIB * 2048} && exec "$@"`, 'sh', ...argv];
  return [...iso.networkPrefix, ...limited];
}

/** Runs `source` as a program of `language` under the limits; resolves when it has exited (or was killed). */
export async function runSandboxed(language: SandboxLanguage, source: string, limits: SandboxLimits = DEFAULT_LIMITS,
  o: { isolation?: Isolation; path?: string } = {}): Promise<SandboxResult> {
  const pathVar = o.path ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  const file = language === 'python' ? 'main.py' : 'main.js';
  const argv = interpreter(language, file, limits.memoryMiB, pathVar);
  const iso = o.isolation ?? detectIsolation();
  const dir = mkdtempSync(path.join(tmpdir(), 'moe-sandbox-'));
  try {
    writeFileSync(path.join(dir, file), source);
    const full = sandboxArgv(iso, language, argv, limits);
    return await new Promise<SandboxResult>((resolve, reject) => {
      const t0 = performance.now();
      const child = spawn(full[0], full.slice(1), {
        cwd: dir, env: { PATH: pathVar, HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, so the timeout kills whatever it forked too.
        detached: true,
      });
      const out = { stdout: [] as Buffer[], stderr: [] as Buffer[], kept: { stdout: 0, stderr: 0 }, truncated: false };
      const keep = (which: 'stdout' | 'stderr') => (c: Buffer): void => {
        const room = limits.outputBytes - out.kept[which];
        if (c.length > room) out.truncated = true;
        if (room > 0) {
          out[which].push(c.subarray(0, room));
          out.kept[which] += Math.min(room, c.length);
        }
      };
      child.stdout.on('data', keep('stdout'));
      child.stderr.on('data', keep('stderr'));
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, limits.timeoutMs);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`sandbox: cannot start ${full[0]}: ${e.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        // Whatever the program left running in its group goes with it.
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // none left
        }
        resolve({
          status: timedOut ? 'timeout' : code === 0 ? 'passed' : 'failed',
          exitCode: code, signal,
          stdout: Buffer.concat(out.stdout).toString('utf8'), stderr: Buffer.concat(out.stderr).toString('utf8'),
          truncated: out.truncated, ms: performance.now() - t0, isolation: describeIsolation(iso),
        });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
