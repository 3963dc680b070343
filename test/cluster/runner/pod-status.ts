// Pure: the pod status the process runner reports, from what it knows of each container's process.
import type { V1ContainerState, V1ContainerStatus, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';

export type ProcState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; pid: number; startedAt: Date }
  | { kind: 'terminated'; exitCode: number; signal?: string; reason: string; startedAt: Date; finishedAt: Date; message?: string };

export interface ContainerRecord {
  name: string;
  image: string;
  init: boolean;
  state: ProcState;
  last?: ProcState;
  restartCount: number;
  /** The readiness probe's verdict on the running process; absent when the container has no readiness probe. */
  ready?: boolean;
  /** Whether its startup probe has passed; absent when the container has none. */
  started?: boolean;
}

/** Ready as the kubelet says it: running, started, and passing its readiness probe (if it has each). */
export function containerReady(c: ContainerRecord): boolean {
  return c.state.kind === 'running' && c.started !== false && c.ready !== false;
}

function toState(s: ProcState): V1ContainerState {
  switch (s.kind) {
    case 'waiting': return { waiting: { reason: s.reason, ...(s.message ? { message: s.message } : {}) } };
    case 'running': return { running: { startedAt: s.startedAt } };
    case 'terminated': return {
      terminated: {
        exitCode: s.exitCode, reason: s.reason, startedAt: s.startedAt, finishedAt: s.finishedAt,
        ...(s.signal ? { signal: signalNumber(s.signal) } : {}), ...(s.message ? { message: s.message } : {}),
      },
    };
  }
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 };
function signalNumber(sig: string): number { return SIGNALS[sig] ?? 0; }

function containerStatus(c: ContainerRecord): V1ContainerStatus {
  return {
    name: c.name, image: c.image, imageID: '', containerID: c.state.kind === 'running' ? `process://${c.state.pid}` : undefined,
    ready: containerReady(c), started: c.state.kind === 'running' && c.started !== false, restartCount: c.restartCount,
    state: toState(c.state), lastState: c.last ? toState(c.last) : {},
  } as V1ContainerStatus;
}

/** Pod phase by the kubelet's rules, given the restart policy and whether init containers are done. */
export function podPhase(main: ContainerRecord[], initDone: boolean, initFailed: boolean, restartPolicy: string): V1PodStatus['phase'] {
  if (initFailed) return 'Failed';
  if (!initDone) return 'Pending';
  if (main.some((c) => c.state.kind === 'running')) return 'Running';
  const terminated = main.filter((c) => c.state.kind === 'terminated');
  if (terminated.length < main.length) return main.some((c) => c.restartCount > 0) ? 'Running' : 'Pending';
  const failed = terminated.some((c) => c.state.kind === 'terminated' && c.state.exitCode !== 0);
  if (restartPolicy === 'Always') return 'Running';
  if (restartPolicy === 'OnFailure' && failed) return 'Running';
  return failed ? 'Failed' : 'Succeeded';
}

export interface PodFacts {
  containers: ContainerRecord[];
  initDone: boolean;
  initFailed: boolean;
  restartPolicy: string;
  podIP: string;
  hostIP: string;
  startTime: Date;
  message?: string;
  reason?: string;
  /** The conditions last reported: a condition keeps its lastTransitionTime until its status flips. */
  previous?: V1PodCondition[];
}

export function podStatus(f: PodFacts, now: Date): V1PodStatus {
  const main = f.containers.filter((c) => !c.init);
  const phase = podPhase(main, f.initDone, f.initFailed, f.restartPolicy);
  const allReady = main.length > 0 && main.every(containerReady);
  const cond = (type: string, ok: boolean, reason?: string): V1PodCondition => {
    const status = ok ? 'True' : 'False';
    const prev = f.previous?.find((c) => c.type === type && c.status === status);
    return { type, status, lastTransitionTime: prev?.lastTransitionTime ?? now, ...(reason && !ok ? { reason } : {}) };
  };
  return {
    phase,
    ...(f.reason ? { reason: f.reason } : {}),
    ...(f.message ? { message: f.message } : {}),
    hostIP: f.hostIP, hostIPs: [{ ip: f.hostIP }], podIP: f.podIP, podIPs: [{ ip: f.podIP }], startTime: f.startTime,
    conditions: [
      cond('PodScheduled', true),
      cond('Initialized', f.initDone, 'ContainersNotInitialized'),
      cond('ContainersReady', allReady, 'ContainersNotReady'),
      cond('Ready', allReady, 'ContainersNotReady'),
    ],
    initContainerStatuses: f.containers.filter((c) => c.init).map(containerStatus),
    containerStatuses: main.map(containerStatus),
  };
}
