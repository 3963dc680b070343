// One role server of the serving benchmark in its own process, as a pod runs it: `node role-proc.js prefill|decode`.
// Sends {url} to the parent over IPC once listening; 'stop' drains, closes the engine and exits.
import { byteTokenizer } from '../../runtime/src/data/tokenizer.js';
import { Engine } from '../../runtime/src/serve/engine/engine.js';
import { decodeHandoff, encodeHandoff } from '../../runtime/src/serve/engine/handoff.js';
import { createRoleServer } from '../../runtime/src/serve/http/role-server.js';
import { config, engineOpts, SEED } from './common.js';

const role = process.argv[2];
if (role !== 'prefill' && role !== 'decode') throw new Error(`role-proc: role must be prefill or decode, got ${role}`);
const engine = Engine.random(config, byteTokenizer, engineOpts, SEED);
const server = createRoleServer({ role, engine, codec: { encode: (h) => encodeHandoff(h), decode: decodeHandoff }, log: () => {} });
await server.listen(0, '127.0.0.1');
process.send!({ url: server.url() });
process.on('message', (m) => {
  if (m !== 'stop') return;
  void server.shutdown(1000).then(() => engine.close()).then(() => process.exit(0));
});
