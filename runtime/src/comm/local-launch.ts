// Launches N local ranks of a script as child processes with the pod contract's environment (MASTER_ADDR on
// loopback, a free MASTER_PORT) and collects their exit codes and output: tests, benchmarks and local runs (I/O).
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { RankEnv } from '../../../operator/contract/index.js';

export interface RankResult { rank: number; code: number | null; signal: string | null; stdout: string; stderr: string; ms: number }

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface LaunchOptions {
  script: string;
  /** Program that runs the script (default: this node). */
  command?: string;
  worldSize: number;
  /** Ranks to start (default all); leaving some out simulates ranks that never arrive. */
  ranks?: number[];
  args?: string[];
  env?: Record<string, string>;
  /** Per-rank extra environment. */
  rankEnv?: (rank: number) => Record<string, string>;
  /** Called once per rank with its process. */
  onSpawn?: (rank: number, child: ChildProcess) => void;
  /** Called with every line a rank writes to stdout, and its process (fault tests kill ranks mid-run). */
  onLine?: (rank: number, line: string, child: ChildProcess) => void;
  /** Kill everything still running after this long (a hang is a test failure, not a stuck suite). */
  killAfterMs: number;
}

export async function launch(o: LaunchOptions): Promise<{ results: RankResult[]; children: ChildProcess[] }> {
  const port = await freePort();
  const ranks = o.ranks ?? Array.from({ length: o.worldSize }, (_, i) => i);
  const t0 = Date.now();
  const children: ChildProcess[] = [];
  const results = await Promise.all(ranks.map((rank) => new Promise<RankResult>((resolve) => {
    const child = spawn(o.command ?? process.execPath, [o.script, ...(o.args ?? [])], {
      env: {
        ...process.env, [RankEnv.rank]: String(rank), [RankEnv.worldSize]: String(o.worldSize), [RankEnv.localRank]: String(rank),
        [RankEnv.localWorldSize]: String(o.worldSize), [RankEnv.masterAddr]: '127.0.0.1', [RankEnv.masterPort]: String(port),
        MOE_POD_IP: '127.0.0.1', ...o.env, ...(o.rankEnv ? o.rankEnv(rank) : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    o.onSpawn?.(rank, child);
    let stdout = '', stderr = '';
    let partial = '';
    child.stdout!.on('data', (d) => {
      stdout += d;
      if (!o.onLine) return;
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) o.onLine(rank, l, child);
    });
    child.stderr!.on('data', (d) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), o.killAfterMs);
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ rank, code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  })));
  return { results, children };
}
