import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveHostWhenListed } from '../../../runtime/src/comm/resolve.js';

test('a name that appears in the hosts file after the start is resolved once listed', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'hosts-')), 'hosts');
  writeFileSync(file, '127.1.0.3 job-1.job.ns.svc\n');
  setTimeout(() => writeFileSync(file, '127.1.0.3 job-1.job.ns.svc\n127.1.0.9 job-0 job-0.job.ns.svc\n'), 300);
  assert.equal(await resolveHostWhenListed('job-0.job.ns.svc', 5000, { MOE_HOSTS_FILE: file }), '127.1.0.9');
});

test('without a hosts file the name is left to the system resolver at once; a name never listed comes back on time-out', async () => {
  assert.equal(await resolveHostWhenListed('rank0.example', 5000, {}), 'rank0.example');
  const file = join(mkdtempSync(join(tmpdir(), 'hosts-')), 'hosts');
  writeFileSync(file, '');
  const t0 = Date.now();
  assert.equal(await resolveHostWhenListed('never.listed', 400, { MOE_HOSTS_FILE: file }), 'never.listed');
  assert.ok(Date.now() - t0 >= 400, 'it waited for the name');
});
