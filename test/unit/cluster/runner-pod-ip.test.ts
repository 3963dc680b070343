import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { PodIpAllocator, boundAddresses, podAddress } from '../../cluster/runner/pod-ip.js';

test('pod addresses run through 127.1.0.0/16 without .0 or .255 host bytes, and wrap', () => {
  assert.equal(podAddress(1), '127.1.0.1');
  assert.equal(podAddress(254), '127.1.0.254');
  assert.equal(podAddress(255), '127.1.1.1');
  assert.equal(podAddress(256 * 254), '127.1.255.254');
  assert.equal(podAddress(256 * 254 + 1), '127.1.0.1');
});

test('the allocator skips addresses a socket already uses and addresses it handed out; a uid keeps its address', () => {
  const ips = new PodIpAllocator(1, () => new Set(['127.1.0.1', '127.1.0.3']));
  assert.equal(ips.ipFor('a'), '127.1.0.2');
  assert.equal(ips.ipFor('b'), '127.1.0.4');
  assert.equal(ips.ipFor('a'), '127.1.0.2');
  ips.release('a');
  assert.equal(ips.ipFor('c'), '127.1.0.5', 'released addresses are not reused at once');
});

test('boundAddresses sees a listening socket\'s loopback address', async () => {
  const srv = createServer().listen(0, '127.1.77.77');
  await once(srv, 'listening');
  try {
    assert.ok(boundAddresses().has('127.1.77.77'), `port ${(srv.address() as AddressInfo).port} on 127.1.77.77 not seen`);
  } finally {
    srv.close();
  }
});
