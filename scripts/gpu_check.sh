#!/usr/bin/env bash
# One prepared GPU check (issue 6): install, run the claims on the device at the ci and slow profiles, run the
# perf benchmarks, and put the reports and timings into one folder. Meant to finish in <= 8 minutes on one
# modern GPU; also runs on CPU for testing:  scripts/gpu_check.sh --device cpu --out /tmp/check
#
#   scripts/gpu_check.sh [--device cuda|cpu] [--out DIR] [--select PYTEST_K_EXPRESSION]
set -uo pipefail

device=cuda
out=${OUT:-reports/gpu_check}
select=""
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --select) select=$2; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument $1 (use --device, --out, --select)" >&2; exit 2 ;;
  esac
done
case "$device" in cuda|cpu) ;; *) echo "gpu_check.sh: --device must be cuda or cpu; got $device" >&2; exit 2 ;; esac

mkdir -p "$out"
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv || exit 1
  # On a GPU machine let pip pick torch's CUDA build; on CPU the Makefile pins the CPU wheel.
  if [ "$device" = cpu ]; then make install >/dev/null || exit 1; else .venv/bin/pip install -q -e '.[test]' || exit 1; fi
fi
bin=.venv/bin
"$bin/python" - <<PY > "$out/environment.txt"
import torch, platform
print("torch", torch.__version__, "python", platform.python_version())
print("cuda available", torch.cuda.is_available())
if torch.cuda.is_available():
    print("device", torch.cuda.get_device_name(0))
PY

status=0
k=()
[ -n "$select" ] && k=(-k "$select")
for tier in "not slow and not paper and not perf" "slow and not paper and not perf"; do
  name=$([ "$tier" = "not slow and not paper and not perf" ] && echo ci || echo slow)
  start=$(date +%s)
  "$bin/python" -m pytest theory_checks regressions -m "$tier" "${k[@]}" --claims-device "$device" \
      --claims-json "$out/claims_$name.json" -p no:cacheprovider -q > "$out/pytest_$name.log" 2>&1
  rc=$?
  [ $rc -eq 5 ] && [ -z "$select" ] && rc=1        # no tests collected is a failure of the check
  [ $rc -eq 5 ] && rc=0                            # ... unless a selection legitimately matched none
  echo "$name: exit $rc in $(( $(date +%s) - start )) s" | tee -a "$out/timings.txt"
  [ $rc -ne 0 ] && status=1
done
start=$(date +%s)
"$bin/python" -m pytest regressions -m perf "${k[@]}" --benchmark-enable --benchmark-json="$out/bench_raw.json" \
    -p no:cacheprovider -q > "$out/pytest_perf.log" 2>&1
rc=$?
[ $rc -eq 5 ] && rc=0
echo "perf: exit $rc in $(( $(date +%s) - start )) s" | tee -a "$out/timings.txt"
[ -s "$out/bench_raw.json" ] && "$bin/python" -m gradfail.bench "$out/bench_raw.json" --out "$out/bench.json"
echo "reports in $out"
exit $status
