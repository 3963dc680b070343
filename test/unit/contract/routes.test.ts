// The routers' table (operator/contract/routes.ts): round trip, the wire text, the malformed field named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRoutes, parseRoutes } from '../../../operator/contract/routes.js';

test('format → parse gives the table back; the text is what the operator has always written', () => {
  const text = formatRoutes({ model: 'tiny', prefill: [{ replica: 0, url: 'http://s-prefill-0-0.s-pods.t.svc:8000' }], decode: [] });
  assert.equal(text, '{"model":"tiny","prefill":[{"replica":0,"url":"http://s-prefill-0-0.s-pods.t.svc:8000"}],"decode":[]}');
  assert.deepEqual(parseRoutes(text, 'routes'), { model: 'tiny', prefill: [{ replica: 0, url: 'http://s-prefill-0-0.s-pods.t.svc:8000' }], decode: [] });
});

test('each malformed field is named', () => {
  assert.throws(() => parseRoutes('{"model":1}', 'r'), /^Error: r: model must be a string$/);
  assert.throws(() => parseRoutes('{"prefill":{}}', 'r'), /r: prefill must be an array of \{replica, url\}/);
  assert.throws(() => parseRoutes('{"decode":[{"replica":-1,"url":"http://a"}]}', 'r'), /r: decode\[0\]\.replica must be an integer >= 0, got -1/);
  assert.throws(() => parseRoutes('{"decode":[{"replica":0,"url":"a"}]}', 'r'), /r: decode\[0\]\.url must be an http\(s\) URL/);
  assert.throws(() => parseRoutes('[]', 'r'), /r: must be a JSON object/);
  assert.throws(() => parseRoutes('{', 'r'), /r: not JSON/);
});
