// The `serve` lines of `moe-runtime` usage (kept apart so the CLI shows them without loading the serving stack).
export const SERVE_USAGE = `  serve     [--role router|prefill|decode] [--model PATH] [--port N] [--host ADDR] [--routes FILE|JSON]
            [--model-name NAME] [--max-batch N] [--max-queue N] [--precision fp8|bf16|fp32] [--max-in-flight N]
            [--grace-seconds N] [--speculative mtp [--speculative-tokens N]] [--ep-layout alltoall|star]
            Serves a model (runtime/src/serve/README.md). Defaults from the pod env: MOE_SERVE_ROLE, MOE_MODEL_PATH,
            MOE_SERVE_PORT (8000), POD_IP (else 127.0.0.1), MOE_SERVED_MODEL_NAME (else MOE_DEPLOYMENT), MOE_MAX_BATCH (8),
            MOE_MAX_QUEUE (64), MOE_SERVE_EXPERT_METRICS (aggregate; per-expert adds a series per layer x expert),
            MOE_SPECULATIVE_METHOD / MOE_SPECULATIVE_TOKENS (decode: the MTP module drafts N tokens per step, 1..8).
            A replica of MOE_PODS_PER_REPLICA > 1 pods runs its experts across them (rendezvous at
            MASTER_ADDR:MASTER_PORT, rank MOE_POD_INDEX). Decode, MOE_SERVE_EP_LAYOUT / --ep-layout alltoall (default):
            pod 0 takes the router's requests and spreads the sequences over the pods, which step together with experts
            by all-to-all; star (and prefill replicas): pod 0 runs every sequence, the others host expert slots.
            The router reads routes from MOE_ROUTING_CONFIGMAP, or --routes for local runs:
            '{"model":"m","prefill":[{"replica":0,"url":"http://127.0.0.1:8001"}],"decode":[...]}'.`;
