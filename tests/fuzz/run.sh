#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Coverage-guided fuzzing of the plugin's byte parsers with libFuzzer.
#
#   tests/fuzz/run.sh [--ctest] [--keep-going] [SECONDS] [HARNESS...]
#
# Builds build-fuzz (CC=clang -DMTLS_FUZZ=ON; MTLS_FUZZ_BUILD_DIR to change it),
# then runs each harness (default: every one that is built: hello certs messages
# http app tls_stream) for SECONDS (default 600) on a fresh copy of its seed corpus
# tests/fuzz/corpus/<harness>/, one libFuzzer process per harness, as many at
# once as there are cores (MTLS_FUZZ_PARALLEL). A crash, leak, timeout or
# out-of-memory input is copied to tests/fuzz/regressions/<harness>/ under a name
# that says what it found (one per distinct stack top and run), and makes the
# script fail. Prints per harness: runs, coverage (cov/ft of libFuzzer's last
# status line), execs/s, findings. libFuzzer stops a harness at its first finding;
# --keep-going runs it in fork mode (-fork=1 -ignore_crashes=1 ...) instead, so
# that a known, unfixed bug does not end the run (fork mode counts cov and ft
# its own way: compare runs of the same mode only).
#
# The kept regressions are replayed first through the sanitized binaries; any
# that still fails makes the script fail too.
#
# Needs clang and libclang-rt-14-dev (libFuzzer): installed with apt-get when
# missing and run as root; otherwise the command is printed. --ctest (ctest
# fuzz.slice) installs nothing: without them it prints SKIPPED and exits 77.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${MTLS_FUZZ_BUILD_DIR:-$repo/build-fuzz}
parallel=${MTLS_FUZZ_PARALLEL:-$(nproc 2>/dev/null || echo 2)}
packages=(clang libclang-rt-14-dev)

ctest_mode=false
keep_going=false
while [ $# -gt 0 ]; do
    case "$1" in
    --ctest) ctest_mode=true ;;
    --keep-going) keep_going=true ;;
    *) break ;;
    esac
    shift
done
seconds=600
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
    seconds=$1
    shift
fi
wanted=("$@")

# clang, and a libFuzzer runtime it links (libclang-rt-14-dev on Debian 12).
have_libfuzzer() {
    command -v clang >/dev/null || return 1
    local probe
    probe=$(mktemp -d) || return 1
    printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
        >"$probe/probe.c"
    clang -fsanitize=fuzzer,address,undefined "$probe/probe.c" -o "$probe/probe" >/dev/null 2>&1
    local status=$?
    rm -rf "$probe"
    return $status
}

if ! have_libfuzzer; then
    if $ctest_mode; then
        echo "=================================================================="
        echo "SKIPPED: fuzz.slice needs clang and libFuzzer (apt-get install ${packages[*]})"
        echo "=================================================================="
        exit 77
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "run.sh: clang and libFuzzer are missing; as root run:" >&2
        echo "  apt-get update && apt-get install -y ${packages[*]}" >&2
        exit 1
    fi
    echo "run.sh: installing ${packages[*]}"
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}" || exit 1
    have_libfuzzer || { echo "run.sh: clang still cannot link a libFuzzer binary" >&2; exit 1; }
fi

echo "run.sh: configuring $build (CC=clang, MTLS_FUZZ=ON)"
if ! CC=clang cmake -S "$repo" -B "$build" -DMTLS_FUZZ=ON >"$build.configure.log" 2>&1; then
    cat "$build.configure.log" >&2
    echo "run.sh: cmake failed (a build folder made with another compiler? remove $build)" >&2
    exit 1
fi
rm -f "$build.configure.log"

# Every harness this tree builds (a harness whose parser is missing is left out).
available=()
for source in "$here"/fuzz_*.c; do
    name=$(basename "$source" .c)
    name=${name#fuzz_}
    [ -d "$build/tests/fuzz/CMakeFiles/fuzz_$name.dir" ] && available+=("$name")
done
harnesses=()
if [ ${#wanted[@]} -eq 0 ]; then
    harnesses=("${available[@]}")
else
    for name in "${wanted[@]}"; do
        name=${name#fuzz_}
        if [[ " ${available[*]} " != *" $name "* ]]; then
            echo "run.sh: no harness '$name' in this tree (built: ${available[*]})" >&2
            exit 1
        fi
        harnesses+=("$name")
    done
fi
[ ${#harnesses[@]} -gt 0 ] || { echo "run.sh: no harness is built" >&2; exit 1; }

targets=()
for name in "${harnesses[@]}"; do targets+=("fuzz_$name"); done
echo "run.sh: building ${targets[*]}"
if ! cmake --build "$build" -j"$parallel" --target "${targets[@]}" >"$build/fuzz-build.log" 2>&1; then
    tail -n 40 "$build/fuzz-build.log" >&2
    echo "run.sh: build failed (log: $build/fuzz-build.log)" >&2
    exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# The kept regressions first, through the sanitized binaries: ctest's
# fuzz.replay.* replays them without sanitizers, so undefined behaviour that
# does not crash is seen only here.
still_failing=()
for name in "${harnesses[@]}"; do
    for input in "$here/regressions/$name"/*; do
        [ -f "$input" ] || continue
        if ! "$build/tests/fuzz/fuzz_$name" -timeout=10 -rss_limit_mb=2048 "$input" \
            >"$build/tests/fuzz/regression-$name-$(basename "$input").log" 2>&1; then
            still_failing+=("${input#"$repo"/}")
        fi
    done
done
if [ ${#still_failing[@]} -gt 0 ]; then
    echo "run.sh: kept regressions that still fail (logs: $build/tests/fuzz/regression-*.log):"
    printf '  %s\n' "${still_failing[@]}"
fi

# One harness: a fresh copy of its corpus, libFuzzer for $seconds, its log.
fuzz_one() {
    local name=$1 work="$build/tests/fuzz/run/$1"
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts"
    if [ -d "$here/corpus/$name" ]; then
        cp "$here/corpus/$name"/* "$work/corpus/" 2>/dev/null
    fi
    local mode=()
    $keep_going && mode=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    "$build/tests/fuzz/fuzz_$name" "${mode[@]}" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
        "$work/corpus" >"$work/log" 2>&1
    echo $? >"$work/status"
}

echo "run.sh: ${harnesses[*]}: $seconds s each, $parallel at a time"
running=0
for name in "${harnesses[@]}"; do
    fuzz_one "$name" &
    running=$((running + 1))
    if [ "$running" -ge "$parallel" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

# What a kept input does, replayed alone: "undefined-behavior-mtls_diagnosis.c-248",
# "heap-buffer-overflow-mtls_http.c-120", "invariant-fuzz_tls_stream.c-97", "leak"...
# The replay's output goes to <input>.txt beside it in the build tree.
classify() {
    local binary=$1 input=$2 output what where
    output=$("$binary" -timeout=10 -rss_limit_mb=2048 "$input" 2>&1)
    printf '%s\n' "$output" >"$input.txt"
    where=$(grep -m1 -oE '[A-Za-z0-9_.-]+\.c:[0-9]+: invariant broken' <<<"$output" |
        sed -E 's/: invariant broken//; s/:/-/')
    if [ -n "$where" ]; then
        echo "invariant-$where"
        return
    fi
    what=$(grep -m1 -oE 'SUMMARY: [A-Za-z]+: [a-z-]+' <<<"$output" | awk '{print $3}')
    # Where: the first frame in the plugin's or the harness's sources.
    where=$(grep -m1 -E '^ *#[0-9]+ 0x[0-9a-f]+ in .*/(plugin|tests/fuzz)/[^ ]+\.c:[0-9]+' <<<"$output" |
        grep -oE '[A-Za-z0-9_.-]+\.c:[0-9]+' | tail -n 1 | sed 's/:/-/')
    [ -n "$where" ] || where=$(grep -m1 -oE '[A-Za-z0-9_.-]+\.c:[0-9]+:[0-9]+: runtime error' <<<"$output" |
        cut -d: -f1,2 | sed 's/:/-/')
    if grep -q 'ERROR: libFuzzer: timeout' <<<"$output"; then what=timeout; fi
    if grep -q 'ERROR: libFuzzer: out-of-memory' <<<"$output"; then what=out-of-memory; fi
    if grep -qE 'ERROR: LeakSanitizer' <<<"$output"; then what=leak; fi
    [ -n "$what" ] || what=unknown
    echo "$what${where:+-$where}"
}

# What libFuzzer reported, and where each finding is kept.
failed=0
stacks=()
printf '\n%-11s %7s %12s %6s %7s %9s  %s\n' harness seconds runs cov ft exec/s findings
for name in "${harnesses[@]}"; do
    work="$build/tests/fuzz/run/$name"
    log="$work/log"
    # "#123 pulse cov: ..." (one process), "#123: cov: ..." (fork mode)
    status_line=$(grep -E '^#[0-9]+(:|[[:space:]]+(INITED|NEW|REDUCE|pulse|DONE|RELOAD))' "$log" | tail -n 1)
    runs=$(grep -oE '^stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$')
    [ -n "$runs" ] || runs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$status_line")
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$status_line")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$status_line")
    speed=$(grep -oE '^stat::average_exec_per_sec: [0-9]+' "$log" | grep -oE '[0-9]+$')
    [ -n "$speed" ] || speed=$(sed -nE 's/.* exec\/s:? ([0-9]+).*/\1/p' <<<"$status_line")
    elapsed=$(sed -nE 's/^Done [0-9]+ runs in ([0-9]+) second.*/\1/p; s/^INFO: exiting: .* time: ([0-9]+)s.*/\1/p' "$log" | tail -n 1)
    findings=()
    seen=" "
    # Smallest first: of several inputs that hit the same place, the smallest is kept.
    while read -r _ artifact; do
        [ -n "$artifact" ] || continue
        kind=$(basename "$artifact" | cut -d- -f1)
        what=$(classify "$build/tests/fuzz/fuzz_$name" "$artifact")
        [[ "$seen" == *" $what "* ]] && continue
        seen="$seen$what "
        stacks+=("$artifact.txt")
        # A bug already kept (same place) is reported, not kept again.
        known=$(find "$here/regressions/$name" -maxdepth 1 -name "*-$what-*" 2>/dev/null | head -n 1)
        if [ -n "$known" ]; then
            findings+=("$what: known, ${known#"$repo"/}")
            continue
        fi
        sum=$(sha1sum "$artifact" | cut -c1-12)
        mkdir -p "$here/regressions/$name"
        kept="$here/regressions/$name/$kind-$what-$sum"
        cp "$artifact" "$kept"
        findings+=("$what: ${kept#"$repo"/}")
    done < <(find "$work/artifacts" -maxdepth 1 -type f \
        \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) \
        ! -name '*.txt' -printf '%s %p\n' 2>/dev/null | sort -n)
    status=$(cat "$work/status" 2>/dev/null || echo 1)
    if [ ${#findings[@]} -eq 0 ] && [ "$status" -ne 0 ]; then
        findings+=("libFuzzer exited with $status and kept no input (log: ${log#"$repo"/})")
    fi
    summary="none"
    if [ ${#findings[@]} -gt 0 ]; then
        failed=1
        summary=$(printf '%s; ' "${findings[@]}")
        summary="${summary%; }"
    fi
    printf '%-11s %7s %12s %6s %7s %9s  %s\n' "$name" "${elapsed:-?}" "${runs:-?}" "${cov:-?}" \
        "${ft:-?}" "${speed:-?}" "$summary"
done
if [ ${#still_failing[@]} -gt 0 ]; then
    failed=1
    echo
    echo "regressions still failing: ${still_failing[*]}"
fi
if [ "$failed" -ne 0 ]; then
    for stack in "${stacks[@]}"; do
        echo
        echo "---- ${stack#"$repo"/}"
        grep -m1 -A25 -E '^==[0-9]+==ERROR|invariant broken|runtime error' "$stack"
    done
    echo "run.sh: FAILED: findings kept in tests/fuzz/regressions/ (replayed by ctest fuzz.replay.*)"
    exit 1
fi
echo "run.sh: no finding"
