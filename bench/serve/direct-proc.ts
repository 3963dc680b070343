// The serving benchmark's peer in its own process: `node direct-proc.js '<mix JSON>'` runs the closed loop straight
// into a fresh engine (warm-up first) and sends {samples, wall} to the parent over IPC.
import { byteTokenizer } from '../../runtime/src/data/tokenizer.js';
import { Engine } from '../../runtime/src/serve/engine/engine.js';
import { closedLoop, config, direct, engineOpts, SEED, type Mix } from './common.js';

const m = JSON.parse(process.argv[2]) as Mix;
const engine = Engine.random(config, byteTokenizer, engineOpts, SEED);
await direct(engine, { ...m, maxTokens: 2 })(0);
const r = await closedLoop(m, direct(engine, m));
await engine.close();
process.send!(r, () => process.exit(0));
