// Failure detection with real processes: a rank that never arrives, dies, or stalls makes every other rank exit
// non-zero within a bounded time with a message naming it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { collectivesAvailable } from '../../../runtime/src/comm/collectives-binding.js';
import { EXIT_PEER_LOST } from '../../../runtime/src/comm/watchdog.js';
import { launch } from '../../../runtime/src/comm/local-launch.js';
import { workerScript } from './paths.js';
import { need } from '../../util/need.js';

const skip = need(collectivesAvailable(), 'the Gloo collectives addon (runtime/collectives)', 'run `make native`') ? false : 'see the failing prerequisite test';

function eventTime(stdout: string): number {
  const line = stdout.split('\n').find((l) => l.includes('"event"'));
  assert.ok(line, 'the victim reported its failure time');
  return JSON.parse(line).at as number;
}

describe('failure detection', { skip }, () => {
  it('a rank that never arrives: the others fail the rendezvous naming it', async () => {
    const { results } = await launch({
      script: workerScript(), worldSize: 3, ranks: [0, 1], args: ['collectives'], killAfterMs: 30_000,
      env: { MOE_DIST_TIMEOUT_MS: '1500' },
    });
    for (const r of results) {
      assert.notEqual(r.code, 0, `rank ${r.rank} should fail`);
      assert.equal(r.signal, null, `rank ${r.rank} exited by itself rather than being killed`);
      assert.match(r.stderr, /rank 2 never arrived \(2 of 3 present\)/, `rank ${r.rank} stderr: ${r.stderr}`);
    }
  });

  for (const victimRank of [2, 0]) {
    it(`a killed rank ${victimRank}${victimRank === 0 ? ' (the store server)' : ''}: every survivor exits non-zero within the bound, naming it`, async () => {
      const t0 = Date.now();
      const { results } = await launch({
        script: workerScript(), worldSize: 4, args: ['die'], killAfterMs: 30_000,
        env: { MOE_DIST_TIMEOUT_MS: '20000', MOE_DIST_STALL_MS: '5000', MOE_DIST_GRACE_MS: '1000', TEST_VICTIM: String(victimRank) },
      });
      const victim = results.find((r) => r.rank === victimRank)!;
      assert.equal(victim.signal, 'SIGKILL');
      const died = eventTime(victim.stdout) - t0;
      const names = victimRank === 0 ? /rank 0, which serves it, is lost/ : new RegExp(`rank ${victimRank} lost`);
      for (const r of results.filter((x) => x.rank !== victimRank)) {
        assert.equal(r.code, EXIT_PEER_LOST, `rank ${r.rank} exit ${r.code} ${r.signal}: ${r.stderr}`);
        assert.match(r.stderr, names, `rank ${r.rank} names the lost rank: ${r.stderr}`);
        // bound: grace (1 s) plus scheduling slack on a shared 2-core machine
        assert.ok(r.ms - died < 5000, `rank ${r.rank} took ${r.ms - died}ms after the kill to exit`);
      }
    });
  }

  it('a stalled rank: heartbeats stop and every other rank exits naming it', async () => {
    const t0 = Date.now();
    const { results } = await launch({
      script: workerScript(), worldSize: 3, args: ['stall'], killAfterMs: 30_000,
      env: { MOE_DIST_TIMEOUT_MS: '20000', MOE_DIST_STALL_MS: '1500', MOE_DIST_GRACE_MS: '1000', TEST_VICTIM: '1' },
    });
    const victim = results.find((r) => r.rank === 1)!;
    const stalled = eventTime(victim.stdout) - t0;
    for (const r of results.filter((x) => x.rank !== 1)) {
      assert.equal(r.code, EXIT_PEER_LOST, `rank ${r.rank} exit ${r.code} ${r.signal}: ${r.stderr}`);
      assert.match(r.stderr, /rank 1 stalled/, `rank ${r.rank} names the stalled rank: ${r.stderr}`);
      assert.ok(r.ms - stalled < 1500 + 5000, `rank ${r.rank} took ${r.ms - stalled}ms after the stall to exit`);
    }
  });
});
