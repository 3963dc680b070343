// The `eval` lines of `moe-runtime` usage (kept apart so the CLI shows them without loading the engine and sandbox).
export const EVAL_USAGE = `  eval      --plan plan.json | (--model DIR | --url BASE_URL [--served-model NAME]) --task TYPE:NAME:FILE...
            [--limit N] [--max-tokens N] [--answer-pattern RE] [--samples N] [--k 1,5] [--timeout-seconds S]
            [--memory-mib M] [--request-timeout S] [--retries N] [--precision fp8|bf16|fp32] [--out result.json]
            [--details details.json]
            Scores a model on JSONL tasks (multiple_choice, generate, code; runtime/src/eval/README.md). In a pod:
            MOE_EVAL_PLAN (the operator's plan.json), MOE_EVAL_REPORT_CONFIGMAP + MOE_NAMESPACE (where the result goes).
            Exit 0 ok, 1 failed, 2 bad tasks, 3 model unreachable.`;
