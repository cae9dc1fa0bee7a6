#!/usr/bin/env bash
# Runs the SIPp scenarios of /work/shared/sipp and the harness ones of tests/e2e/sipp against
# sip_harness, one fresh harness per scenario, and prints PASS/FAIL per scenario.
# A scenario passes when SIPp exits 0, every "expect:" line of its header comment appears in
# the harness output, and no "absent:" text does. Header keys (in the leading XML comment):
#   harness: <extra sip_harness arguments>   calls: <calls to wait for, default 1>
#   expect: <text>   absent: <text>   slow: yes (skipped when QUICK=1)
# usage: run_all.sh [path/to/sip_harness]     env: SHARED_DIR, OUT (logs), QUICK=1, ONLY=<label regex>
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
harness=${1:-${HARNESS:-$root/build/tests/sip_harness/sip_harness}}
shared=${SHARED_DIR:-$root/tests/e2e/sipp}
out=${OUT:-$(mktemp -d /tmp/sip_harness_runs.XXXXXX)}
# Free ports, asked of the kernel for each scenario (UDP and TCP free on 127.0.0.1 and ::1).
free_port() {
  python3 - <<'PY'
import socket
for _ in range(100):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    try:
        for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                t = socket.socket(fam, kind); t.bind((host, p)); t.close()
        print(p); break
    except OSError:
        pass
PY
}
[ -x "$harness" ] || { echo "sip_harness not found: $harness" >&2; exit 2; }
mkdir -p "$out"

# expectations of the shared scenarios (their files are not ours to annotate)
declare -A shared_expect=(
  [uac_refer_notify_200]="REFER_RESULT code=202 sipfrags=200 result=success"
  [uac_refer_notify_486]="REFER_RESULT code=202 sipfrags=486 result=failed"
  [uac_refer_reject_603]="REFER_RESULT code=603 sipfrags= result=failed"
  [uac_refer_progress_id]="REFER_RESULT code=202 sipfrags=100,200 result=success"
)

meta() {  # meta <file> <key>: the values of "  key: value" lines in the header comment
  sed -n '1,/^-->/p' "$1" | sed -n "s/^  $2: //p"
}

pass=0; fail=0; skipped=0; idx=0; failed_names=()

run_one() {  # run_one <label> <xml> <sipp transport flag> <listen host> <extra sipp args>
  local label=$1 xml=$2 tflag=$3 host=$4 sippargs=$5
  local name; name=$(basename "$xml" .xml)
  idx=$((idx + 1))
  if [ -n "${ONLY:-}" ] && ! [[ $label =~ $ONLY ]]; then return; fi
  local port sport mport
  port=$(free_port); sport=$(free_port); mport=$(free_port)
  local args calls slow log="$out/$label.harness.log" slog="$out/$label.sipp.log"
  args=$(meta "$xml" harness); calls=$(meta "$xml" calls); slow=$(meta "$xml" slow)
  calls=${calls:-1}
  if [ -n "$slow" ] && [ "${QUICK:-0}" = 1 ]; then
    echo "SKIP $label (slow)"; skipped=$((skipped + 1)); return
  fi
  local uri_host=$host; [[ $host == *:* ]] && uri_host="[$host]"
  # shellcheck disable=SC2086
  "$harness" --listen "udp:$uri_host:$port" --listen "tcp:$uri_host:$port" --max-calls "$calls" $args \
    >"$log" 2>&1 &
  local hpid=$!
  for _ in $(seq 50); do grep -q READY "$log" 2>/dev/null && break; sleep 0.1; done
  local timeout=30; [ -n "$slow" ] && timeout=60
  # shellcheck disable=SC2086
  sipp -sf "$xml" -s swml "$uri_host:$port" -i "$host" -p "$sport" -mp "$mport" $tflag $sippargs \
    -m 1 -nostdin -timeout "$timeout" -timeout_error -trace_err -error_file "$out/$label.sipp.err" \
    >"$slog" 2>&1
  local rc=$?
  if [ "$calls" != 0 ]; then
    for _ in $(seq 50); do kill -0 "$hpid" 2>/dev/null || break; sleep 0.1; done
  fi
  kill -TERM "$hpid" 2>/dev/null; wait "$hpid" 2>/dev/null
  local why=""
  [ $rc -ne 0 ] && why="sipp exit $rc"
  local expects
  expects=$(meta "$xml" expect)
  [ -z "$expects" ] && expects=${shared_expect[$name]:-}
  while IFS= read -r e; do
    [ -z "$e" ] && continue
    grep -qF -- "$e" "$log" || why="$why; missing '$e'"
  done <<<"$expects"
  while IFS= read -r a; do
    [ -z "$a" ] && continue
    grep -qF -- "$a" "$log" && why="$why; found '$a'"
  done <<<"$(meta "$xml" absent)"
  if [ -z "$why" ]; then
    echo "PASS $label"; pass=$((pass + 1))
  else
    echo "FAIL $label (${why#; }) logs: $log $slog"; fail=$((fail + 1)); failed_names+=("$label")
  fi
}

for name in "${!shared_expect[@]}"; do
  run_one "$name" "$shared/$name.xml" "" 127.0.0.1 ""
done
# tests/e2e/sipp also holds scenarios for the full daemon (document-driven outcomes): run only
# those that state what the harness must print (expect:/calls:/absent: keys).
for xml in "$root"/tests/e2e/sipp/*.xml; do
  [ -n "${shared_expect[$(basename "$xml" .xml)]:-}" ] && continue
  [ -z "$(meta "$xml" expect)$(meta "$xml" calls)$(meta "$xml" absent)" ] && continue
  run_one "$(basename "$xml" .xml)" "$xml" "" 127.0.0.1 ""
done
# the same REFER flow over TCP and over IPv6
# (our scenarios put ;transport= in Contact: in-dialog requests go over TCP too)
run_one uac_refer_twice.tcp "$root/tests/e2e/sipp/uac_refer_twice.xml" "-t t1" 127.0.0.1 ""
run_one uac_refer_auth_407.tcp "$root/tests/e2e/sipp/uac_refer_auth_407.xml" "-t t1" 127.0.0.1 ""
if ip -6 addr show lo 2>/dev/null | grep -q '::1'; then
  run_one uac_refer_progress_id.ipv6 "$shared/uac_refer_progress_id.xml" "" ::1 ""
fi

echo "passed $pass, failed $fail, skipped $skipped (logs in $out)"
[ $fail -eq 0 ]
