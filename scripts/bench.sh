#!/usr/bin/env bash
# The HTTP benchmark, one command: `bash scripts/bench.sh`.
#
# For each backend (BENCH_BACKENDS, default "sqlite postgres") and each size
# (BENCH_SIZES, default "10000 100000 1000000"): seeds N access profiles with plain SQL
# (examples/bench_seed.rs), starts the release server on them pinned to core 0, and
# drives it with wrk pinned to core 1 over loopback, BENCH_SECONDS (default 10) per
# scenario. Once per backend it also measures the same GET against a ceiling (the same
# stack answering from memory, examples/ceiling.rs) and against Stoplight Prism mocking
# spec/v3.json. Writes BENCHMARKS.md and prints it; raw wrk outputs go to
# target/bench-results/. Not part of CI.
#
# Other settings: BENCH_DATABASE_URL (PostgreSQL, default the local one; each size runs
# in a fresh schema, dropped at the end), BENCH_PORT (first of three ports, default
# 47800), BENCH_PERF=1 (after the measured GET, create and patch runs, a second run of
# each under `perf record`; reports in the results directory), BENCH_SCENARIOS (default
# "get lists create patch": which groups of lines to run; "get" also runs the ceiling and
# Prism).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

sizes=${BENCH_SIZES:-10000 100000 1000000}
backends=${BENCH_BACKENDS:-sqlite postgres}
secs=${BENCH_SECONDS:-10}
pg_base=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
port=${BENCH_PORT:-47800}
perf=${BENCH_PERF:-0}
scenarios=${BENCH_SCENARIOS:-get lists create patch}
command_line="BENCH_SIZES=\"$sizes\" BENCH_BACKENDS=\"$backends\" BENCH_SECONDS=$secs"
[ "$scenarios" = "get lists create patch" ] || command_line+=" BENCH_SCENARIOS=\"$scenarios\""
[ "$perf" = 1 ] && command_line+=" BENCH_PERF=1"
command_line+=" bash scripts/bench.sh"

target=${CARGO_TARGET_DIR:-$root/target}
tools=$root/target/bench-tools
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results=$root/target/bench-results/$stamp
mkdir -p "$results"
work=$(mktemp -d "$root/target/bench-work.XXXXXX")
export BENCH_LUA=$root/scripts/bench
# psql: no NOTICE for every table a dropped schema takes with it.
export PGOPTIONS="-c client_min_messages=warning"

# --- clean-up: every process started here, every schema created here -------------------
pids=()
schemas=()
cleanup() {
    local pid schema
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    for schema in "${schemas[@]}"; do
        psql "$pg_base" -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
    echo "bench: $*" >&2
    exit 1
}

# Stops one process started here and forgets it.
stop() {
    local pid=$1 p kept=()
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for p in "${pids[@]}"; do
        [ "$p" = "$pid" ] || kept+=("$p")
    done
    pids=("${kept[@]}")
}

# Whether BENCH_SCENARIOS names this group of lines.
wants() {
    [[ " $scenarios " == *" $1 "* ]]
}

# --- tools ------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
for tool in taskset curl jq; do
    command -v "$tool" >/dev/null || die "$tool is missing"
done
prism=$tools/node_modules/.bin/prism
if [ ! -x "$prism" ] && wants get; then
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --silent @stoplight/prism-cli
fi
if [[ " $backends " == *" postgres "* ]]; then
    command -v psql >/dev/null || { apt-get update -qq && apt-get install -y -qq postgresql-client >/dev/null; }
    psql "$pg_base" -X -q -A -t -c 'SELECT 1' >/dev/null || die "cannot reach PostgreSQL at $pg_base"
fi
[ "$perf" = 1 ] && { command -v perf >/dev/null || die "BENCH_PERF=1 needs perf"; }

# --- build ------------------------------------------------------------------------------
echo "== building release binaries"
cargo build --release --quiet --bin accessd --example bench_seed --example ceiling
accessd=$target/release/accessd
seeder=$target/release/examples/bench_seed
ceiling=$target/release/examples/ceiling

for p in "$port" $((port + 1)) $((port + 2)); do
    if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$p/"; then
        die "port $p is in use (set BENCH_PORT)"
    fi
done

# --- measuring --------------------------------------------------------------------------
clk_tck=$(getconf CLK_TCK)

# utime+stime of a process, in clock ticks.
cpu_ticks() {
    awk '{print $14 + $15}' "/proc/$1/stat"
}

# Waits (at most 300 s) until URL answers at all (Prism answers 401 without a token);
# prints the milliseconds since START (date +%s%N). Fails early if PID exits.
wait_up() {
    local url=$1 start=$2 pid=$3 i
    for ((i = 0; i < 30000; i++)); do
        if curl -s -o /dev/null --max-time 1 "$url"; then
            echo $((($(date +%s%N) - start) / 1000000))
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.01
    done
    return 1
}

declare -A R # results: R[key]="rps p50_us p99_us cpu_us_per_req errors requests"

# run KEY PID CONNECTIONS URL [wrk args...]: one wrk run on core 1; the server PID's
# CPU time over the run is divided by the requests completed.
run() {
    local key=$1 pid=$2 conns=$3 url=$4
    shift 4
    local out=$results/$key.txt before after line
    before=$(cpu_ticks "$pid")
    taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" --timeout 120s --latency \
        -s "$BENCH_LUA/report.lua" "$@" "$url" >"$out" 2>&1 ||
        die "wrk failed for $key (see $out)"
    after=$(cpu_ticks "$pid")
    echo "server CPU: $((after - before)) ticks of 1/$clk_tck s" >>"$out"
    line=$(grep '^BENCH ' "$out") || die "no summary from wrk for $key (see $out)"
    R[$key]=$(awk -v line="$line" -v ticks=$((after - before)) -v tck="$clk_tck" 'BEGIN {
        n = split(line, f, " ")
        for (i = 2; i <= n; i++) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
        req = v["requests"]
        rps = req > 0 ? req / (v["duration_us"] / 1e6) : 0
        cpu = req > 0 ? ticks * 1e6 / tck / req : 0
        err = v["connect"] + v["read"] + v["write"] + v["status"] + v["timeout"]
        printf "%.1f %d %d %.0f %d %d", rps, v["p50_us"], v["p99_us"], cpu, err, req
    }')
    echo "   $key: ${R[$key]} (req/s p50_us p99_us cpu_us/req errors requests)"
}

# profile NAME PID WRK-ARGS...: with BENCH_PERF=1, a second wrk run (as the measured one)
# under `perf record` of the server; reports perf-NAME.txt (call graphs) and
# perf-NAME-flat.txt (by symbol) in the results directory.
profile() {
    [ "$perf" = 1 ] || return 0
    local name=$1 pid=$2 perf_pid
    shift 2
    perf record -q -g -o "$results/perf-$name.data" -p "$pid" -- sleep "$secs" \
        >/dev/null 2>&1 &
    perf_pid=$!
    taskset -c 1 wrk -t1 -d"${secs}s" "$@" >/dev/null
    wait "$perf_pid" || true
    perf report -i "$results/perf-$name.data" --no-children --percent-limit 1.5 \
        --stdio 2>/dev/null | head -80 >"$results/perf-$name.txt" || true
    perf report -i "$results/perf-$name.data" --no-children --stdio -g none \
        --sort comm,dso,sym 2>/dev/null | grep -v '^#' >"$results/perf-$name-flat.txt" || true
}

# Asserts that one request answers STATUS; extra args go to curl.
expect_status() {
    local want=$1 got
    shift
    got=$(curl -s -o "$work/answer" -w '%{http_code}' "$@")
    [ "$got" = "$want" ] || die "expected $want from $*, got $got: $(head -c 500 "$work/answer")"
}

uri() {
    jq -rn --arg v "$1" '$v | @uri'
}

# --- report -----------------------------------------------------------------------------
ms() { awk -v us="$1" 'BEGIN { printf (us >= 100000 ? "%.0f ms" : "%.2f ms"), us / 1000 }'; }
field() { echo "${R[$1]:-}" | cut -d' ' -f"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf (b > 0 ? "%.2f" : "–"), (b > 0 ? a / b : 0) }'; }
label() {
    case $1 in
    get) echo 'GET `/v3/access-profiles/{id}`' ;;
    list-name) echo 'list `limit=250&sorters=name`' ;;
    list-filter) echo 'list `limit=250&count=true&sorters=-created&filters=name sw "Profile 0001" and requestable eq true`' ;;
    list-sw10) echo 'list `filters=name sw "Profile 000123"` (10 hits)' ;;
    list-offset-desc) echo 'list `limit=50&offset=0.9N&sorters=-modified`' ;;
    list-offset-asc) echo 'list `limit=50&offset=0.9N&sorters=modified`' ;;
    count) echo 'list `count=true&limit=1`' ;;
    list-filter-c8) echo 'the filtered, sorted, counted list' ;;
    create) echo '`POST /v3/access-profiles`' ;;
    patch) echo '`PATCH /v3/access-profiles/{id}` (description)' ;;
    esac
}
conns() {
    case $1 in get) echo 64 ;; list-filter-c8 | create | patch) echo 8 ;; *) echo 1 ;; esac
}
name_of() { [ "$1" = sqlite ] && echo SQLite || echo PostgreSQL; }

report() {
    echo "# Benchmarks"
    echo
    echo "Produced by \`$command_line\` on $(date -u +%Y-%m-%d) at commit" \
        "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src migrations Cargo.toml || echo ' (with local changes)')."
    echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"
    echo "$(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo) RAM, shared with other work while it ran, so compare"
    echo "figures within one run (the ratios) rather than across runs."
    echo
    echo "Server (release build, the command line's defaults but \`--rate-limit-requests 0\`,"
    echo "log level info to a file) pinned to core 0, wrk pinned to core 1, loopback, ${secs} s per"
    echo "line. PostgreSQL is not pinned and runs on the same two cores; its CPU time is not in"
    echo "\"server CPU\", which is accessd's own user+system time divided by the requests."
    echo "Seeded with \`examples/bench_seed.rs\`: N access profiles \`Profile %07d\` with two"
    echo "entitlements each, half requestable, half used by a role; SQLite in WAL mode with"
    echo "\`synchronous=FULL\`, PostgreSQL vacuumed and analyzed after seeding (what autovacuum does after a load). The ceiling is the same stack"
    echo "(tokio, hyper, axum) answering the same bytes from memory without authentication"
    echo "(\`examples/ceiling.rs\`); Prism is Stoplight Prism $("$prism" --version 2>/dev/null || echo '(not run)') mocking \`spec/v3.json\`"
    echo "(static example, logging off), pinned to core 0 too, measured after 3 s of the same load to warm it up."
    echo
    echo "## GET one access profile, 64 connections"
    echo
    echo "| backend | N | accessd req/s | p50 | p99 | server CPU µs/req | ceiling req/s | accessd/ceiling | Prism req/s | accessd/Prism |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    local backend n k c p
    for backend in $backends; do
        c=$(field "$backend-ceiling" 1)
        p=$(field "$backend-prism" 1)
        for n in $sizes; do
            k=$backend-$n-get
            [ -n "${R[$k]:-}" ] || continue
            echo "| $(name_of "$backend") | $n | $(field "$k" 1) | $(ms "$(field "$k" 2)") | $(ms "$(field "$k" 3)") | $(field "$k" 4) | $c | $(ratio "$(field "$k" 1)" "$c") | $p | $(ratio "$(field "$k" 1)" "$p") |"
        done
    done
    echo
    echo "Ceiling p50/p99: $(for backend in $backends; do echo -n "$(name_of "$backend") run $(ms "$(field "$backend-ceiling" 2)") / $(ms "$(field "$backend-ceiling" 3)"); "; done)"
    echo "Prism p50/p99: $(for backend in $backends; do echo -n "$(name_of "$backend") run $(ms "$(field "$backend-prism" 2)") / $(ms "$(field "$backend-prism" 3)"); "; done)"
    echo
    echo "## Lists and writes"
    echo
    echo "Lists are \`/v3/access-profiles?…\`; \`0.9N\` is 90% of N. \"done\" is the number of"
    echo "requests that finished within the ${secs} s; where it is small, the percentiles rest on few"
    echo "samples and the CPU per request includes work on requests still running at the end."
    echo
    echo "| backend | scenario | conns | N | done | req/s | p50 | p99 | server CPU µs/req |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    local s
    for backend in $backends; do
        for s in list-name list-filter list-sw10 list-offset-desc list-offset-asc count list-filter-c8 create patch; do
            for n in $sizes; do
                k=$backend-$n-$s
                [ -n "${R[$k]:-}" ] || continue
                if [ "$(field "$k" 6)" = 0 ]; then
                    echo "| $(name_of "$backend") | $(label "$s") | $(conns "$s") | $n | 0 | – | > ${secs} s | – | – |"
                    continue
                fi
                echo "| $(name_of "$backend") | $(label "$s") | $(conns "$s") | $n | $(field "$k" 6) | $(field "$k" 1) | $(ms "$(field "$k" 2)") | $(ms "$(field "$k" 3)") | $(field "$k" 4) |"
            done
        done
    done
    echo
    echo "## Seeding, start-up, memory"
    echo
    echo "| backend | N | seeding | start-up until /health answers | VmRSS after the runs | of which anonymous (RssAnon) | of which file pages (RssFile) | VmHWM |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for backend in $backends; do
        for n in $sizes; do
            k=$backend/$n
            [ -n "${HWM[$k]:-}" ] || continue
            echo "| $(name_of "$backend") | $n | $(awk -v v="${SEED[$k]}" 'BEGIN { printf "%.1f s", v / 1000 }') | ${STARTUP[$k]} ms | $((${RSS[$k]} / 1024)) MB | $((${ANON[$k]} / 1024)) MB | $((${FILE[$k]} / 1024)) MB | $((${HWM[$k]} / 1024)) MB |"
        done
    done
    echo
    echo "On SQLite each connection maps the database file (\`mmap_size\`): the pages it has read"
    echo "count in VmRSS as file pages (RssFile), the kernel's page cache, shared and reclaimable;"
    echo "RssAnon is the memory accessd allocates."
    local errors=0
    for k in "${!R[@]}"; do
        [ "$(field "$k" 5)" = 0 ] || {
            errors=1
            echo
            echo "**$k had $(field "$k" 5) failed requests (wrk errors or non-2xx answers).**"
        }
    done
    [ "$errors" = 0 ] && echo && echo "Every request of every run answered 2xx."
    echo
    echo "Raw wrk outputs: \`target/bench-results/\` (not committed)."
}

# --- the runs ---------------------------------------------------------------------------
base=http://127.0.0.1:$port
declare -A SEED STARTUP RSS ANON FILE HWM
for backend in $backends; do
    [[ "$backend" =~ ^(sqlite|postgres)$ ]] || die "unknown backend $backend"
    first=1
    for n in $sizes; do
        [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1000 ] || die "size $n: at least 1000"
        echo "== $backend, $n access profiles"
        if [ "$backend" = sqlite ]; then
            url=sqlite://$work/bench-$n.db
        else
            schema=accessd_bench_$$_$n
            psql "$pg_base" -X -q -c "CREATE SCHEMA $schema" >/dev/null
            schemas+=("$schema")
            # What accessd::store::postgres::schema_url builds.
            sep='?'
            [[ "$pg_base" == *\?* ]] && sep='&'
            url="${pg_base}${sep}options=-c%20search_path%3D${schema}"
        fi
        "$accessd" migrate --database-url "$url" >/dev/null
        t0=$(date +%s%N)
        "$seeder" "$url" "$n" "$work/seed" | sed 's/^/   /'
        SEED[$backend/$n]=$((($(date +%s%N) - t0) / 1000000))
        # shellcheck disable=SC1091
        source "$work/seed/seed.env"
        export SEED_OWNER_ID SEED_SOURCE_ID SEED_ENTITLEMENT_ID

        t0=$(date +%s%N)
        RUST_LOG=${RUST_LOG:-info} taskset -c 0 "$accessd" serve --database-url "$url" \
            --addr "127.0.0.1:$port" --demo false --rate-limit-requests 0 \
            --admin-client-id bench --admin-client-secret bench-secret-0123456789abcdef \
            --token-ttl-secs 86400 --request-timeout-secs 300 \
            >"$work/server.log" 2>&1 &
        server=$!
        pids+=("$server")
        STARTUP[$backend/$n]=$(wait_up "$base/health" "$t0" "$server") ||
            die "accessd did not start: $(tail -20 "$work/server.log")"
        token=$(curl -sf "$base/oauth/token" -d grant_type=client_credentials \
            -d client_id=bench -d client_secret=bench-secret-0123456789abcdef | jq -r .access_token)
        [ -n "$token" ] && [ "$token" != null ] || die "no token from accessd"
        auth="Authorization: Bearer $token"

        get=$base/v3/access-profiles/$SEED_PROFILE_ID
        expect_status 200 -H "$auth" "$get"
        cp "$work/answer" "$work/get-body.json"
        if wants get; then
            run "$backend-$n-get" "$server" 64 "$get" -H "$auth"
            profile "$backend-$n" "$server" -c64 -H "$auth" "$get"
        fi

        if [ "$first" = 1 ] && wants get; then
            # The ceiling and Prism do not depend on the data: once per backend.
            taskset -c 0 "$ceiling" "127.0.0.1:$((port + 1))" "$work/get-body.json" &
            cpid=$!
            pids+=("$cpid")
            wait_up "http://127.0.0.1:$((port + 1))/v3/access-profiles/x" "$(date +%s%N)" "$cpid" \
                >/dev/null || die "the ceiling did not start"
            run "$backend-ceiling" "$cpid" 64 \
                "http://127.0.0.1:$((port + 1))/v3/access-profiles/$SEED_PROFILE_ID" -H "$auth"
            stop "$cpid"
            # Prism serves the spec's paths without the server's /v3 prefix.
            taskset -c 0 "$prism" mock -v silent -p $((port + 2)) spec/v3.json \
                >"$work/prism.log" 2>&1 &
            ppid_=$!
            pids+=("$ppid_")
            prism_get=http://127.0.0.1:$((port + 2))/access-profiles/$SEED_PROFILE_ID
            wait_up "$prism_get" "$(date +%s%N)" "$ppid_" >/dev/null ||
                die "Prism did not start: $(tail -20 "$work/prism.log")"
            expect_status 200 -H "$auth" "$prism_get"
            # Node compiles its hot paths as it runs: measure Prism warmed up.
            taskset -c 1 wrk -t1 -c64 -d3s -H "$auth" "$prism_get" >/dev/null 2>&1 || true
            run "$backend-prism" "$ppid_" 64 "$prism_get" -H "$auth"
            stop "$ppid_"
            first=0
        fi

        list=$base/v3/access-profiles
        filter=$(uri 'name sw "Profile 0001" and requestable eq true')
        offset=$((n * 9 / 10))
        heavy="$list?limit=250&count=true&sorters=-created&filters=$filter"
        wants lists && for scenario in \
            "list-name|$list?limit=250&sorters=name" \
            "list-filter|$heavy" \
            "list-sw10|$list?filters=$(uri 'name sw "Profile 000123"')" \
            "list-offset-desc|$list?limit=50&offset=$offset&sorters=-modified" \
            "list-offset-asc|$list?limit=50&offset=$offset&sorters=modified" \
            "count|$list?count=true&limit=1"; do
            expect_status 200 -H "$auth" "${scenario#*|}"
            run "$backend-$n-${scenario%%|*}" "$server" 1 "${scenario#*|}" -H "$auth"
        done
        wants lists && run "$backend-$n-list-filter-c8" "$server" 8 "$heavy" -H "$auth"

        wants create && expect_status 201 -H "$auth" -H 'Content-Type: application/json' "$list" -d "{
            \"name\": \"Bench create check\", \"owner\": {\"type\": \"IDENTITY\", \"id\": \"$SEED_OWNER_ID\"},
            \"source\": {\"type\": \"SOURCE\", \"id\": \"$SEED_SOURCE_ID\"},
            \"entitlements\": [{\"type\": \"ENTITLEMENT\", \"id\": \"$SEED_ENTITLEMENT_ID\"}]}"
        if wants create; then
            BENCH_TAG="$stamp-$backend-$n" run "$backend-$n-create" "$server" 8 "$list" \
                -H "$auth" -s "$BENCH_LUA/create.lua"
            BENCH_TAG="$stamp-$backend-$n-perf" profile "$backend-$n-create" "$server" -c8 \
                -H "$auth" -s "$BENCH_LUA/create.lua" "$list"
        fi
        if wants patch; then
            expect_status 200 -H "$auth" -H 'Content-Type: application/json-patch+json' -X PATCH \
                "$get" -d '[{"op": "replace", "path": "/description", "value": "check"}]'
            BENCH_IDS=$work/seed/profile-ids.txt run "$backend-$n-patch" "$server" 8 "$list" \
                -H "$auth" -s "$BENCH_LUA/patch.lua"
            BENCH_IDS=$work/seed/profile-ids.txt profile "$backend-$n-patch" "$server" -c8 \
                -H "$auth" -s "$BENCH_LUA/patch.lua" "$list"
        fi

        RSS[$backend/$n]=$(awk '/^VmRSS/ {print $2}' "/proc/$server/status")
        ANON[$backend/$n]=$(awk '/^RssAnon/ {print $2}' "/proc/$server/status")
        FILE[$backend/$n]=$(awk '/^RssFile/ {print $2}' "/proc/$server/status")
        HWM[$backend/$n]=$(awk '/^VmHWM/ {print $2}' "/proc/$server/status")
        stop "$server"
        if [ "$backend" = sqlite ]; then
            rm -f "$work/bench-$n.db"*
        else
            psql "$pg_base" -X -q -c "DROP SCHEMA $schema CASCADE" >/dev/null
        fi
        # What is measured so far, in case a later size fails.
        report >"$results/BENCHMARKS.md"
    done
done

report >"$results/BENCHMARKS.md"
cp "$results/BENCHMARKS.md" BENCHMARKS.md
echo
cat BENCHMARKS.md
echo
echo "== written to BENCHMARKS.md and $results"
