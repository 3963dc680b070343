import { test } from 'node:test';
import assert from 'node:assert/strict';
import { namespacesFromEnv, watchedNamespaces } from '../../../operator/controllers/namespaces.js';

test('watched namespaces: the chart list, the older single name, or all', () => {
  assert.equal(namespacesFromEnv({}), undefined, 'nothing set watches every namespace');
  assert.equal(namespacesFromEnv({ WATCH_NAMESPACES: '' }), undefined);
  assert.deepEqual(namespacesFromEnv({ WATCH_NAMESPACES: 'team-a, team-b' }), ['team-a', 'team-b']);
  assert.deepEqual(namespacesFromEnv({ WATCH_NAMESPACE: 'solo' }), ['solo']);
  assert.deepEqual(namespacesFromEnv({ WATCH_NAMESPACES: 'a,b,a', WATCH_NAMESPACE: 'b' }), ['a', 'b']);
  assert.deepEqual(watchedNamespaces({ namespace: 'test-ns' }), ['test-ns']);
});
