#!/usr/bin/env bash
# `make demo`: the whole system on this machine. The project's two images (`make images`), a local Kubernetes cluster
# (real control plane, a simulated 2048-GPU fleet, two real nodes: kubelet + containerd + runc), the operator installed
# with Helm from its image, the DeepSeek-V3 671B layout planned and gang-started on the simulated fleet, the tiny model
# trained for real by 8 ranks (containers from the runtime image, Pod Security `restricted`) with checkpoints, and that
# model served with prefill/decode disaggregation behind an OpenAI-compatible router.
# The cluster stays up afterwards for a look around; `make cluster-down NAME=demo` removes it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
NAME=${DEMO_CLUSTER:-demo}
FLEET=${DEMO_FLEET:-2x4x32x8}
NS=moe-demo
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
field() { kubectl -n "$NS" get mtj "$1" -o "jsonpath=$2" 2>/dev/null || true; }
# shellcheck source=demo/print.sh
. "$ROOT/examples/demo/print.sh"   # progress lines, each from one read of the job

rm -rf /tmp/moe-demo
# The shared checkpoint folder behind the demo's PersistentVolume; the runtime image runs as uid 65532.
mkdir -p /tmp/moe-demo/checkpoints && chmod 0777 /tmp/moe-demo/checkpoints

step "1/6 local cluster: control plane, simulated fleet $FLEET, 2 real nodes (kubelet + containerd + runc) with the images loaded"
# `make demo` built the images already (cached): this prints their archives, digests and sizes.
images=$(bash scripts/images/build.sh 2>/dev/null | tee /dev/stderr | awk '$1 == "IMAGE" {print $3}' | paste -sd, -)
node dist/test/cluster/cli.js down --name "$NAME" >/dev/null
node dist/test/cluster/cli.js up --name "$NAME" --fleet "$FLEET" --real-nodes 2 --runner-nodes 0 --images "$images" | head -3
eval "$(node dist/test/cluster/cli.js env --name "$NAME")"
kubectl get nodes --no-headers | awk '{print $2}' | sort | uniq -c | sed 's/^/  nodes: /'
kubectl get nodes -o wide -l moe.io/real-node=true

step "2/6 helm install the operator from its image (a pod on a real node, with the chart's least-privilege RBAC)"
# The operator's own namespace enforces Pod Security `restricted` too: the chart's pod passes it as it is.
kubectl create namespace moe-system >/dev/null
kubectl label namespace moe-system pod-security.kubernetes.io/enforce=restricted >/dev/null
helm install moe-operator charts/moe-operator --namespace moe-system --wait --timeout 180s \
  --set 'metrics.bindAddress=$(POD_IP)' --set-string 'nodeSelector.moe\.io/real-node=true' \
  --set defaultTopology.nodeSelector.type=kwok | sed -n '1,6p'
kubectl -n moe-system get pods -o wide
kubectl create namespace "$NS" >/dev/null
# Every pod the operator creates here must pass Pod Security `restricted`.
kubectl label namespace "$NS" pod-security.kubernetes.io/enforce=restricted >/dev/null
kubectl apply -f examples/demo/local-nodes-topology.yaml -f examples/demo/checkpoints.yaml

step "3/6 DeepSeek-V3 671B layout (PP16 DualPipe x EP64 x DP2 = 2048 GPUs) on the simulated fleet"
kubectl -n "$NS" apply -f examples/deepseek-v3-671b.yaml
for _ in $(seq 1 180); do
  [ "$(field deepseek-v3-671b '{.status.phase}')" = Running ] && [ -n "$(field deepseek-v3-671b '{.status.plan.worldSize}')" ] && break
  sleep 1
done
kubectl -n "$NS" get mtj deepseek-v3-671b
echo "  pods Running: $(kubectl -n "$NS" get pods -l moe.io/job-name=deepseek-v3-671b --field-selector=status.phase=Running --no-headers | wc -l)"
echo "  placement score: $(field deepseek-v3-671b '{.status.plan.placementScore}'); estimated traffic per step by level:"
mtj_traffic deepseek-v3-671b
echo "  pods per leaf: $(kubectl -n "$NS" get pods -l moe.io/job-name=deepseek-v3-671b -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sed 's/-n[0-9]*$//' | sort | uniq -c | tr -s ' ' | tr '\n' ',')"
kubectl -n "$NS" get events --field-selector involvedObject.name=deepseek-v3-671b --no-headers | awk '{$1=$2=""; print "  event:" $0}' | tail -4
kubectl -n "$NS" delete mtj deepseek-v3-671b --wait=false >/dev/null

step "4/6 the tiny model trained for real by 8 ranks (DualPipe PP2 x EP2 x ZeRO-1 DP2), containers on the real nodes"
kubectl -n "$NS" apply -f examples/demo/tiny-8-ranks.yaml
t0=$(date +%s); last=""
while :; do
  mtj_read tiny-8-ranks
  phase=$MTJ_PHASE
  line=$(mtj_progress_line)
  [ -n "$line" ] && [ "$line" != "$last" ] && echo "$line" && last=$line
  case "$phase" in Succeeded|Failed) break ;; esac
  if [ $(( $(date +%s) - t0 )) -gt 900 ]; then echo "the job did not finish in 15 minutes" >&2; exit 1; fi
  sleep 2
done
kubectl -n "$NS" get mtj tiny-8-ranks
kubectl -n "$NS" get pods -l moe.io/job-name=tiny-8-ranks -o wide
[ "$phase" = Succeeded ] || { kubectl -n "$NS" describe mtj tiny-8-ranks | tail -20; exit 1; }

step "5/6 the trained checkpoint"
echo "  latest: $(field tiny-8-ranks '{.status.checkpoints.latest.uri}{" (step "}{.status.checkpoints.latest.step}{")"}')"
echo "  on this machine: /tmp/moe-demo/checkpoints/$NS/tiny-8-ranks/ (one shard per rank + manifest)"
ls /tmp/moe-demo/checkpoints/"$NS"/tiny-8-ranks/checkpoints 2>/dev/null | sed 's/^/    /'
echo "  inference export (DeepSeek's layout, loadable by transformers: FP8 E4M3 + 128x128 weight_scale_inv, BF16 where a block would be partial; config.json, tokenizer.json):"
echo "    /tmp/moe-demo/checkpoints/$NS/tiny-8-ranks/export/"
ls /tmp/moe-demo/checkpoints/"$NS"/tiny-8-ranks/export 2>/dev/null | sed 's/^/      /'
echo "  training took $(( $(date +%s) - t0 )) s"

step "6/6 serve it: InferenceDeployment (prefill -> KV hand-off -> 2-pod expert-parallel decode, OpenAI-compatible router)"
kubectl -n "$NS" apply -f examples/demo/tiny-serve.yaml
infd() { kubectl -n "$NS" get inferencedeployment tiny-serve -o "jsonpath=$1" 2>/dev/null || true; }
t1=$(date +%s)
until [ "$(infd '{.status.conditions[?(@.type=="Available")].status}')" = True ]; do
  if [ $(( $(date +%s) - t1 )) -gt 300 ]; then kubectl -n "$NS" describe inferencedeployment tiny-serve | tail -20; exit 1; fi
  sleep 2
done
kubectl -n "$NS" get inferencedeployment,inferencerole
kubectl -n "$NS" get pods -l moe.io/deployment-name=tiny-serve -o wide
echo "  kubectl exec into the decode leader: uid $(kubectl -n "$NS" exec tiny-serve-decode-0-0 -- id -u), $(kubectl -n "$NS" exec tiny-serve-decode-0-0 -- sh -c 'grep CapEff /proc/self/status')"
echo "  kubectl logs of the operator (last line): $(kubectl -n moe-system logs deploy/moe-operator --tail=1 | cut -c1-160)"
ROUTER="http://$(kubectl -n "$NS" get pod tiny-serve-router-0 -o jsonpath='{.status.podIP}'):8000"
echo "  model: $(infd '{.status.model.uri}') (from $(infd '{.status.model.resolvedFrom}'))"
echo "  router: $ROUTER  (in a real cluster: the Service tiny-serve)"
until curl -sf "$ROUTER/v1/models" >/dev/null && curl -sf -o /dev/null "$ROUTER/v1/completions" -H 'content-type: application/json' \
    -d '{"model":"tiny","prompt":"a","max_tokens":1}'; do
  if [ $(( $(date +%s) - t1 )) -gt 300 ]; then echo "the router did not answer in 5 minutes" >&2; exit 1; fi
  sleep 1
done
echo "  GET /v1/models: $(curl -s "$ROUTER/v1/models")"
# The model saw 24 steps of the synthetic story corpus: expect word-like English, not sense.
echo "  POST /v1/completions (stream: true, prompt \"the small dog finds the \"), tokens as they arrive:"
printf '    the small dog finds the '
curl -sN "$ROUTER/v1/completions" -H 'content-type: application/json' \
  -d '{"model":"tiny","prompt":"the small dog finds the ","max_tokens":80,"temperature":0.6,"seed":7,"stream":true}' |
  node -e 'let b="";process.stdin.on("data",d=>{b+=d;let i;while((i=b.indexOf("\n\n"))>=0){const e=b.slice(0,i);b=b.slice(i+2);
    const m=e.match(/^data: (.*)$/m);if(!m)continue;if(m[1]==="[DONE]"){process.stdout.write("\n    [DONE]\n");continue}
    const c=JSON.parse(m[1]);process.stdout.write((c.choices?.[0]?.delta?.content??c.choices?.[0]?.text??"").replace(/\n/g," "));}})'
echo "  POST /v1/chat/completions: $(curl -s "$ROUTER/v1/chat/completions" -H 'content-type: application/json' \
  -d '{"model":"tiny","messages":[{"role":"user","content":"tell me about the king"}],"max_tokens":40,"temperature":0.6,"seed":3}' | head -c 600)"
echo "  some load, then the operator's EPLB round (every 10 s) publishes an expert placement from what decode reported:"
for i in $(seq 1 8); do
  curl -s "$ROUTER/v1/completions" -H 'content-type: application/json' -d "{\"model\":\"tiny\",\"prompt\":\"request $i \",\"max_tokens\":24}" >/dev/null &
done
wait
until [ -n "$(infd '{.status.roles.decode.placement.version}')" ]; do
  if [ $(( $(date +%s) - t1 )) -gt 300 ]; then echo "no placement was published" >&2; exit 1; fi
  sleep 2
done
echo "  decode placement version $(infd '{.status.roles.decode.placement.version}'): max/mean tokens per GPU $(infd '{.status.roles.decode.placement.balanceBefore}') -> $(infd '{.status.roles.decode.placement.balanceAfter}')"
kubectl -n "$NS" get events --field-selector involvedObject.name=tiny-serve --no-headers | awk '{$1=$2=""; print "  event:" $0}' | tail -5
echo "  TTFT as the router measured it: $(curl -s "$ROUTER/metrics" | grep -E '^moe_serve_time_to_first_token_seconds_(sum|count)' | awk '{printf "%s=%s ", $1, $2}')"

echo
echo "demo took $(( $(date +%s) - t0 )) s from the training job on; the cluster is still up:"
echo "    eval \"\$(node dist/test/cluster/cli.js env --name $NAME)\"; kubectl get mtj,infd -A"
echo "    curl $ROUTER/v1/chat/completions -H 'content-type: application/json' -d '{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}'"
echo "    make cluster-down NAME=$NAME"
