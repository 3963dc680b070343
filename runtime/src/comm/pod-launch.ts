// The in-pod launcher (I/O): starts the pod's ranks as child processes of this same entrypoint (pod-launch-plan.ts
// says which, with what env), as torchrun's local agent does. stdio is inherited (each line is one write, so lines
// from different ranks do not interleave within a line up to the pipe's atomic size, 4 KiB on Linux); SIGTERM and
// SIGINT go to every rank; the first rank to exit non-zero stops the others (SIGTERM, SIGKILL after
// MOE_LAUNCH_GRACE_MS, default 10 s) and its exit code (128 + signal for a signal) is the pod's, which the operator's
// failure policy reads (75 = EXIT_PEER_LOST, ...). 0 only when every rank exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { RankEnv, TrainEnv, parsePlanDocument } from '../../../operator/contract/index.js';
import { podPath } from '../kube/pod-path.js';
import { podLaunchPlan, planRankTable, type LocalRank } from './pod-launch-plan.js';

/** The exit code a shell (and the kubelet) reports for a process: its code, or 128 + the signal's number. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? os.constants.signals[signal] ?? 0 : 0);
}

export interface PodLaunchOptions {
  ranks: LocalRank[];
  /** Program and arguments of every rank (the launcher's own: the same entrypoint, which sees LAUNCHED_ENV). */
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  graceMs: number;
  /** One line of the launcher's own (stderr). */
  note: (line: string) => void;
}

/** Runs the pod's ranks to the end; resolves with the pod's exit code once no rank is running. */
export function runPodRanks(o: PodLaunchOptions): Promise<number> {
  return new Promise((resolve) => {
    const live = new Map<number, ChildProcess>();
    let failure: { rank: number; code: number } | undefined;
    let killer: NodeJS.Timeout | undefined;
    const stopAll = (signal: NodeJS.Signals): void => {
      for (const c of live.values()) c.kill(signal);
    };
    const forward = (signal: NodeJS.Signals) => () => {
      o.note(`${signal}: passing it to ranks ${[...live.keys()].join(', ')}`);
      stopAll(signal);
    };
    const onTerm = forward('SIGTERM'), onInt = forward('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    for (const r of o.ranks) {
      const child = spawn(o.command, o.args, { env: { ...o.env, ...r.env }, stdio: 'inherit' });
      live.set(r.rank, child);
      o.note(`started rank ${r.rank} (${RankEnv.localRank} ${r.localRank}) pid ${child.pid}`);
      const done = (exit: number, signal: NodeJS.Signals | null): void => {
        if (!live.delete(r.rank)) return;
        if (exit !== 0 && !failure) {
          failure = { rank: r.rank, code: exit };
          if (live.size) {
            o.note(`rank ${r.rank} exited ${exit}${signal ? ` (${signal})` : ''}: stopping ranks ${[...live.keys()].join(', ')}`);
            stopAll('SIGTERM');
            killer = setTimeout(() => stopAll('SIGKILL'), o.graceMs);
          }
        }
        if (live.size) return;
        clearTimeout(killer);
        process.off('SIGTERM', onTerm);
        process.off('SIGINT', onInt);
        resolve(failure?.code ?? 0);
      };
      // A rank that cannot start at all ('error' without 'exit') counts as exit 127, a shell's "cannot run".
      child.on('error', (e) => {
        o.note(`rank ${r.rank}: ${e.message}`);
        if (child.pid === undefined) done(127, null);
      });
      child.on('exit', (code, signal) => done(exitCodeOf(code, signal), signal));
    }
  });
}

/** `moe-runtime train` in a pod of several GPUs: launch its ranks (see launchesRanks) and return the pod's exit code. */
export async function launchPod(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const worldSize = Number(env[RankEnv.worldSize]);
  const planFile = env[TrainEnv.plan];
  const doc = planFile ? parsePlanDocument(readFileSync(podPath(planFile, env), 'utf8'), `${TrainEnv.plan}=${planFile}`) : undefined;
  const ranks = podLaunchPlan(env, planRankTable(doc, worldSize), os.availableParallelism());
  const graceMs = Number(env.MOE_LAUNCH_GRACE_MS ?? '10000');
  if (!Number.isFinite(graceMs) || graceMs < 0) throw new Error(`MOE_LAUNCH_GRACE_MS must be a non-negative number of milliseconds, got ${env.MOE_LAUNCH_GRACE_MS}`);
  return runPodRanks({
    ranks, command: process.execPath, args: [...process.execArgv, ...process.argv.slice(1)], env, graceMs,
    note: (line) => process.stderr.write(`moe-runtime launcher: ${line}\n`),
  });
}
