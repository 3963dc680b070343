// The in-pod launcher: its plan (comm/pod-launch-plan.ts, expected values written out by hand) and its process handling
// (comm/pod-launch.ts runPodRanks) over small node scripts standing in for ranks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readDistEnv } from '../../../runtime/src/comm/pod-env.js';
import { LAUNCHED_ENV, launchesRanks, planRankTable, podLaunchPlan } from '../../../runtime/src/comm/pod-launch-plan.js';
import { exitCodeOf, runPodRanks } from '../../../runtime/src/comm/pod-launch.js';

// Pod 1 of 2 with 4 GPUs, as the operator writes it (contractEnv): the env of its first rank, 4.
const pod = {
  MASTER_ADDR: 'job-0.job.ns.svc', MASTER_PORT: '29500', WORLD_SIZE: '8', RANK: '4', NODE_RANK: '1', NNODES: '2',
  LOCAL_RANK: '0', LOCAL_WORLD_SIZE: '4', MOE_PP_RANK: '0', MOE_EP_RANK: '0', MOE_DP_RANK: '1', MOE_TP_RANK: '0', MOE_PLAN: '/etc/moe/plan/plan.json',
};
// EP=2 × PP=2 × DP=2 in the planner's order tp, ep, pp, dp: rank = ep + 2·pp + 4·dp.
const table = { pp: [0, 0, 1, 1, 0, 0, 1, 1], ep: [0, 1, 0, 1, 0, 1, 0, 1], dp: [0, 0, 0, 0, 1, 1, 1, 1], tp: [0, 0, 0, 0, 0, 0, 0, 0] };

test('a pod of first rank 4 of 8 with 4 GPUs starts ranks 4..7, each with its rank-table coordinates and a quarter of the CPUs', () => {
  const plan = podLaunchPlan(pod, table, 16);
  const common = { MOE_LAUNCHED_BY_POD: '1', MOE_TP_RANK: '0', MOE_NUM_THREADS: '4' };
  assert.deepEqual(plan, [
    { rank: 4, localRank: 0, env: { ...common, RANK: '4', LOCAL_RANK: '0', MOE_PP_RANK: '0', MOE_EP_RANK: '0', MOE_DP_RANK: '1' } },
    { rank: 5, localRank: 1, env: { ...common, RANK: '5', LOCAL_RANK: '1', MOE_PP_RANK: '0', MOE_EP_RANK: '1', MOE_DP_RANK: '1' } },
    { rank: 6, localRank: 2, env: { ...common, RANK: '6', LOCAL_RANK: '2', MOE_PP_RANK: '1', MOE_EP_RANK: '0', MOE_DP_RANK: '1' } },
    { rank: 7, localRank: 3, env: { ...common, RANK: '7', LOCAL_RANK: '3', MOE_PP_RANK: '1', MOE_EP_RANK: '1', MOE_DP_RANK: '1' } },
  ]);
  // Each launched rank's env passes the contract's NODE_RANK × LOCAL_WORLD_SIZE + LOCAL_RANK = RANK check.
  for (const r of plan) {
    const e = readDistEnv({ ...pod, ...r.env });
    assert.deepEqual([e.rank, e.localRank, e.localWorldSize, e.worldSize, e.ppRank, e.epRank, e.dpRank], [r.rank, r.localRank, 4, 8, table.pp[r.rank], table.ep[r.rank], 1]);
    assert.equal(launchesRanks({ ...pod, ...r.env }), false, 'a launched rank does not launch again');
  }
});

test('MOE_NUM_THREADS set on the pod is kept as each rank\'s; fewer CPUs than ranks gives each rank one thread', () => {
  assert.equal(podLaunchPlan({ ...pod, MOE_NUM_THREADS: '6' }, table, 16)[2]!.env.MOE_NUM_THREADS, undefined);
  assert.equal(podLaunchPlan(pod, table, 3)[0]!.env.MOE_NUM_THREADS, '1');
  assert.equal(podLaunchPlan(pod, table, 10)[0]!.env.MOE_NUM_THREADS, '2');
});

test('who launches: a multi-rank job with several GPUs a pod, not a launched rank', () => {
  assert.equal(launchesRanks(pod), true);
  assert.equal(launchesRanks({ ...pod, [LAUNCHED_ENV]: '1' }), false);
  assert.equal(launchesRanks({ ...pod, LOCAL_WORLD_SIZE: '1' }), false);
  assert.equal(launchesRanks({ ...pod, WORLD_SIZE: '1', RANK: '0', LOCAL_WORLD_SIZE: '1' }), false);
  assert.equal(launchesRanks({}), false);
});

test('an inconsistent pod contract is refused naming the variables', () => {
  assert.throws(() => podLaunchPlan({ ...pod, LOCAL_RANK: '1', RANK: '5' }, table, 4), /LOCAL_RANK 1: the pod's launcher starts at the pod's first rank/);
  assert.throws(() => podLaunchPlan({ ...pod, RANK: '6', NODE_RANK: undefined }, table, 4), /RANK 6 \+ LOCAL_WORLD_SIZE 4 exceeds WORLD_SIZE 8/);
  assert.throws(() => podLaunchPlan({ ...pod, NODE_RANK: '0' }, table, 4), /NODE_RANK 0 × LOCAL_WORLD_SIZE 4 \+ LOCAL_RANK 0 is not RANK 4/);
  assert.throws(() => podLaunchPlan(pod, { ...table, ep: [0, 1, 0, 1] }, 4), /rankTable.ep has 4 entries, WORLD_SIZE is 8/);
});

test('a plan without a rank table is pure data parallelism', () => {
  assert.deepEqual(planRankTable(undefined, 3), { pp: [0, 0, 0], ep: [0, 0, 0], dp: [0, 1, 2], tp: [0, 0, 0] });
  assert.deepEqual(planRankTable({ plan: { rankTable: table } } as never, 8), table);
});

test('exit codes: a signal is 128 + its number, as the kubelet reports it', () => {
  assert.equal(exitCodeOf(3, null), 3);
  assert.equal(exitCodeOf(null, 'SIGKILL'), 137);
  assert.equal(exitCodeOf(null, 'SIGTERM'), 143);
});

// A stand-in rank: RANK_EXIT maps a rank to the code it exits with soon; the others run until stopped.
const RANK_SCRIPT = `const r = process.env.RANK, exits = JSON.parse(process.env.RANK_EXIT || '{}');
if (r in exits) setTimeout(() => process.exit(exits[r]), 300); else setInterval(() => {}, 1000);`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function runStandIns(exits: Record<string, number>, whileRunning?: () => void): Promise<{ code: number; pids: number[] }> {
  const notes: string[] = [];
  const ranks = podLaunchPlan(pod, table, 4);
  const running = runPodRanks({
    ranks, command: process.execPath, args: ['-e', RANK_SCRIPT], env: { ...process.env, RANK_EXIT: JSON.stringify(exits) }, graceMs: 60_000,
    note: (l) => notes.push(l),
  });
  if (whileRunning) setTimeout(whileRunning, 500);
  const code = await running;
  const pids = notes.flatMap((l) => /pid (\d+)$/.exec(l)?.[1] ?? []).map(Number);
  assert.equal(pids.length, 4, notes.join('\n'));
  return { code, pids };
}

test('every rank exiting 0 makes the pod exit 0', { timeout: 30_000 }, async () => {
  assert.equal((await runStandIns({ 4: 0, 5: 0, 6: 0, 7: 0 })).code, 0);
});

test('one rank exiting non-zero stops the others and gives the pod its code; no rank is left running', { timeout: 30_000 }, async () => {
  const { code, pids } = await runStandIns({ 6: 75 });
  assert.equal(code, 75);
  assert.deepEqual(pids.filter(alive), []);
});

test('SIGTERM to the launcher reaches every rank; the pod exits 143', { timeout: 30_000 }, async () => {
  const { code, pids } = await runStandIns({}, () => process.emit('SIGTERM'));
  assert.equal(code, 143);
  assert.deepEqual(pids.filter(alive), []);
});
