// One pod run as local processes: volumes, init containers in order, then the containers together, restarts by the
// pod's restartPolicy with back-off, logs per container, SIGTERM → grace period → SIGKILL on deletion. Probes as the
// kubelet runs them: startup first, then readiness (a container's `ready`) and liveness (kill, then restart by policy).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1Pod, V1PodCondition, V1PodStatus, V1Probe } from '@kubernetes/client-node';
import { containerEnv, expand, rewritePaths } from './env.js';
import { materialiseVolumes, mountContainer, type Mount, type VolumeContext } from './volumes.js';
import { podStatus, type ContainerRecord } from './pod-status.js';
import { Prober } from './prober.js';
import type { ProbeTarget } from './probe-check.js';
import type { ProbeKind } from './probe-state.js';

export interface PodRunContext extends VolumeContext {
  pidsDir: string;
  hostsFile: string;
  apiServerHost: string;
  apiServerPort: number;
  podIP: string;
  report(status: V1PodStatus): void;
  log(msg: string): void;
  /** An event on the pod, as the kubelet records them (Unhealthy, Killing). */
  event(type: 'Normal' | 'Warning', reason: string, message: string): void;
}

// Kubelet doubles from 10 s up to 5 min; the runner keeps the shape but starts at 1 s and stops at 30 s so that tests
// of restart behaviour take seconds.
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30000;

export class PodProcess {
  private readonly records: ContainerRecord[];
  private readonly children = new Map<string, ChildProcess>();
  private initDone = false;
  private initFailed = false;
  private stopping = false;
  private readonly startTime = new Date();
  private message: string | undefined;
  private reason: string | undefined;
  private volumes = new Map<string, string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly probers = new Map<string, Prober[]>();
  private conditions: V1PodCondition[] | undefined;

  constructor(private pod: V1Pod, private readonly ctx: PodRunContext) {
    const rec = (c: V1Container, init: boolean): ContainerRecord => ({
      name: c.name, image: c.image ?? '', init, restartCount: 0, state: { kind: 'waiting', reason: 'ContainerCreating' },
    });
    this.records = [...(pod.spec?.initContainers ?? []).map((c) => rec(c, true)), ...(pod.spec?.containers ?? []).map((c) => rec(c, false))];
    this.initDone = (pod.spec?.initContainers ?? []).length === 0;
  }

  get key(): string { return `${this.pod.metadata?.namespace}/${this.pod.metadata?.name}`; }
  get restartPolicy(): string { return this.pod.spec?.restartPolicy ?? 'Always'; }

  private push(): void {
    const status = podStatus({
      containers: this.records, initDone: this.initDone, initFailed: this.initFailed, restartPolicy: this.restartPolicy,
      podIP: this.ctx.podIP, hostIP: '127.0.0.1', startTime: this.startTime, message: this.message, reason: this.reason,
      previous: this.conditions,
    }, new Date());
    this.conditions = status.conditions;
    this.ctx.report(status);
  }

  async start(): Promise<void> {
    mkdirSync(join(this.ctx.podDir, 'logs'), { recursive: true });
    // The downward API's status.podIP must see the address the runner gives the pod.
    this.pod = { ...this.pod, status: { ...this.pod.status, podIP: this.ctx.podIP, hostIP: '127.0.0.1' } };
    try {
      this.volumes = await materialiseVolumes(this.ctx, this.pod);
    } catch (err) {
      this.fail('CreateContainerConfigError', (err as Error).message);
      return;
    }
    this.push();
    const inits = this.pod.spec?.initContainers ?? [];
    if (inits.length) void this.runInit(0);
    else this.startMain();
  }

  private fail(reason: string, message: string): void {
    this.ctx.log(`${this.key}: ${reason}: ${message}`);
    for (const r of this.records) if (r.state.kind === 'waiting') r.state = { kind: 'waiting', reason, message };
    this.reason = reason;
    this.message = message;
    this.push();
  }

  private async runInit(i: number): Promise<void> {
    const inits = this.pod.spec?.initContainers ?? [];
    if (this.stopping) return;
    if (i >= inits.length) {
      this.initDone = true;
      this.startMain();
      return;
    }
    const c = inits[i]!;
    const code = await this.spawnContainer(c, this.records.find((r) => r.init && r.name === c.name)!);
    if (this.stopping) return;
    if (code === 0) return this.runInit(i + 1);
    if (this.restartPolicy === 'Never') {
      this.initFailed = true;
      this.push();
      return;
    }
    this.later(() => void this.runInit(i), this.backoff(this.records.find((r) => r.name === c.name)!));
  }

  private startMain(): void {
    this.push();
    for (const c of this.pod.spec?.containers ?? []) void this.runMain(c);
  }

  private async runMain(c: V1Container): Promise<void> {
    const rec = this.records.find((r) => !r.init && r.name === c.name)!;
    const code = await this.spawnContainer(c, rec);
    if (this.stopping) return;
    const again = this.restartPolicy === 'Always' || (this.restartPolicy === 'OnFailure' && code !== 0);
    if (again) this.later(() => void this.runMain(c), this.backoff(rec));
  }

  private backoff(rec: ContainerRecord): number {
    return Math.min(BACKOFF_BASE_MS * 2 ** Math.max(rec.restartCount - 1, 0), BACKOFF_MAX_MS);
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => { this.timers.delete(t); if (!this.stopping) fn(); }, ms);
    this.timers.add(t);
  }

  /** Runs one container to its end; resolves with the exit code (128+signal when killed, -1 when it never started). */
  private async spawnContainer(c: V1Container, rec: ContainerRecord): Promise<number> {
    if (rec.state.kind === 'terminated') {
      rec.last = rec.state;
      rec.restartCount++;
    }
    let env: Record<string, string>;
    let mounts: Mount[];
    try {
      if (!c.command?.length) throw new Error(`container ${c.name}: the process runner needs spec.containers[].command (it does not read images)`);
      mounts = mountContainer(this.ctx.podDir, c, this.volumes);
      const base = this.baseEnv();
      env = await containerEnv(this.pod, c, base, this.ctx);
      for (const k of Object.keys(env)) env[k] = rewritePaths(env[k]!, mounts);
    } catch (err) {
      rec.state = { kind: 'waiting', reason: 'CreateContainerConfigError', message: (err as Error).message };
      this.ctx.log(`${this.key}: ${(err as Error).message}`);
      this.push();
      return -1;
    }
    const argv = [...c.command, ...(c.args ?? [])].map((a) => rewritePaths(expand(a, env), mounts));
    const cwd = c.workingDir ? rewritePaths(c.workingDir, mounts) : join(this.ctx.podDir, 'root');
    mkdirSync(cwd, { recursive: true });
    const logPath = join(this.ctx.podDir, 'logs', `${c.name}.log`);
    const fd = openSync(logPath, 'a');
    const startedAt = new Date();
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const pidFile = join(this.ctx.pidsDir, `pod-${this.pod.metadata?.uid}-${c.name}.pid`);
    return new Promise<number>((resolve) => {
      child.once('spawn', () => {
        writeFileSync(pidFile, String(child.pid));
        this.children.set(c.name, child);
        rec.state = { kind: 'running', pid: child.pid!, startedAt };
        if (!rec.init) this.startProbes(c, rec, { podIP: this.ctx.podIP, container: c, env, cwd, mounts }, startedAt);
        this.push();
      });
      child.once('error', (err) => {
        rec.state = { kind: 'terminated', exitCode: 128, reason: 'StartError', message: err.message, startedAt, finishedAt: new Date() };
        this.push();
        resolve(128);
      });
      child.once('exit', (code, signal) => {
        rmSync(pidFile, { force: true });
        this.children.delete(c.name);
        this.stopProbes(c.name, rec);
        const exitCode = code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 1);
        rec.state = {
          kind: 'terminated', exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt: new Date(),
          ...(signal ? { signal } : {}),
        };
        this.push();
        resolve(exitCode);
      });
    });
  }

  // ---- probes -------------------------------------------------------------------------------------------------------
  /** Startup probe first (if any); readiness and liveness once the container has started. */
  private startProbes(c: V1Container, rec: ContainerRecord, target: ProbeTarget, startedAt: Date): void {
    rec.ready = c.readinessProbe ? false : undefined;
    rec.started = c.startupProbe ? false : undefined;
    const list: Prober[] = [];
    this.probers.set(c.name, list);
    const run = (kind: ProbeKind, probe: V1Probe, onVerdict: (v: boolean, p: Prober) => void) => {
      const label = `${kind[0]!.toUpperCase()}${kind.slice(1)} probe`;
      const p: Prober = new Prober(kind, probe, target, {
        onVerdict: (v) => { if (this.probers.get(c.name) === list) onVerdict(v, p); },
        onFailure: (msg) => this.ctx.event('Warning', 'Unhealthy', `${label} failed: ${msg}`),
        onUnsupported: (why) => {
          this.ctx.log(`${this.key}: container ${c.name}: ${label}: ${why}; treated as passing`);
          this.ctx.event('Warning', 'ProbeUnsupported', `${label} of container ${c.name}: ${why}; treated as passing`);
        },
      });
      list.push(p);
      p.start(startedAt);
    };
    const afterStart = () => {
      if (c.readinessProbe) run('readiness', c.readinessProbe, (v) => { rec.ready = v; this.push(); });
      if (c.livenessProbe) run('liveness', c.livenessProbe, (v) => { if (!v) this.killUnhealthy(c, 'liveness'); });
    };
    if (c.startupProbe) {
      run('startup', c.startupProbe, (v, p) => {
        if (!v) return this.killUnhealthy(c, 'startup');
        p.stop();
        rec.started = true;
        this.push();
        afterStart();
      });
    } else afterStart();
  }

  private stopProbes(name: string, rec: ContainerRecord): void {
    for (const p of this.probers.get(name) ?? []) p.stop();
    this.probers.delete(name);
    rec.ready = undefined;
    rec.started = undefined;
  }

  /** The kubelet's answer to a failed liveness or startup probe: stop the process; runMain restarts it by policy. */
  private killUnhealthy(c: V1Container, kind: ProbeKind): void {
    const child = this.children.get(c.name);
    if (!child || this.stopping) return;
    for (const p of this.probers.get(c.name) ?? []) p.stop();
    const grace = (kind === 'liveness' ? c.livenessProbe : c.startupProbe)?.terminationGracePeriodSeconds
      ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30;
    this.ctx.log(`${this.key}: container ${c.name} failed its ${kind} probe; stopping it`);
    this.ctx.event('Normal', 'Killing', `Container ${c.name} failed ${kind} probe, will be restarted`);
    signalGroup(child, 'SIGTERM');
    const t = setTimeout(() => signalGroup(child, 'SIGKILL'), grace * 1000);
    child.once('exit', () => clearTimeout(t));
  }

  private baseEnv(): Record<string, string> {
    const spec = this.pod.spec;
    const host = spec?.hostname ?? this.pod.metadata?.name ?? '';
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: join(this.ctx.podDir, 'root'),
      HOSTNAME: host,
      // In-cluster clients find the API server here (there is no kube-proxy to route the `kubernetes` Service).
      KUBERNETES_SERVICE_HOST: this.ctx.apiServerHost,
      KUBERNETES_SERVICE_PORT: String(this.ctx.apiServerPort),
      MOE_POD_ROOT: join(this.ctx.podDir, 'root'),
      MOE_HOSTS_FILE: this.ctx.hostsFile,
    };
  }

  /** SIGTERM every process, SIGKILL after the grace period; resolves once all have exited. */
  async stop(graceSeconds: number): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const [name, list] of this.probers) {
      for (const p of list) p.stop();
      this.probers.delete(name);
    }
    const alive = [...this.children.values()];
    const exited = Promise.all(alive.map((ch) => new Promise<void>((r) => (ch.exitCode !== null || ch.signalCode !== null ? r() : ch.once('exit', () => r())))));
    for (const ch of alive) signalGroup(ch, 'SIGTERM');
    const timer = setTimeout(() => { for (const ch of alive) signalGroup(ch, 'SIGKILL'); }, graceSeconds * 1000);
    await exited;
    clearTimeout(timer);
    this.ctx.log(`${this.key}: all processes ended`);
  }
}

function signalGroup(ch: ChildProcess, sig: NodeJS.Signals): void {
  if (ch.pid === undefined) return;
  try { process.kill(-ch.pid, sig); } catch { try { ch.kill(sig); } catch { /* gone */ } }
}
