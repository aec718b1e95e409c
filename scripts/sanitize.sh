#!/usr/bin/env bash
# Sanitizer builds of the torch-free tests (the LibTorch units are left out: LibTorch itself is
# not instrumented, and a sanitizer build of it is not what we ship):
#   scripts/sanitize.sh address   ASan + UBSan of every torch-free unit test and the fuzz
#                                 corpus replays, in build-asan/ (leaks fail too: LeakSanitizer)
#   scripts/sanitize.sh thread    TSan of the tests of what runs on several threads: the mailbox,
#                                 the metrics registry, the clients' retries and watchdogs, the
#                                 registry and worker agent over gRPC, in build-tsan/. Not clean
#                                 yet, and not in CI: Debian's abseil is not built with TSan, so
#                                 absl::Mutex's locking is invisible to it and every member it
#                                 guards is reported as a race (Mailbox::Post and Serve, both
#                                 under mu_); a clean run needs an abseil built with TSan.
#   scripts/sanitize.sh           both
# Any report fails the test that made it (no recovery). Needs scripts/install-deps.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
what=${1:-all}

run() {  # run BUILD_DIR SANITIZERS TARGETS...: builds the targets, runs their ctest entries
  local dir=$1 sanitizers=$2; shift 2
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRTO_SANITIZE="$sanitizers" \
    -DRTO_BUILD_BENCH=OFF >/dev/null
  cmake --build "$dir" -j2 --target "$@"
  local pattern
  pattern=$(IFS='|'; echo "$*")
  # A fuzz target's entry replays its corpus: fuzz_corpus_<target>.
  ctest --test-dir "$dir" -R "^(fuzz_corpus_)?($pattern)$" --output-on-failure -j2 --timeout 600
}

torch_free=(util_test safetensors_test model_config_test tokenizer_test data_test synth_test config_test
  checkpoint_manager_test rpc_test control_plane_test scorer_pool_test shared_memory_ring_test security_test)
fuzz=(safetensors_header_fuzz safetensors_index_fuzz model_config_fuzz tokenizer_json_fuzz tokenizer_encode_fuzz
  sentencepiece_model_fuzz jsonl_fuzz config_fuzz wire_fuzz)
if [ "$what" = address ] || [ "$what" = all ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp \
    UBSAN_OPTIONS=print_stacktrace=1 \
    run build-asan address,undefined "${torch_free[@]}" "${fuzz[@]}"
fi
if [ "$what" = thread ] || [ "$what" = all ]; then
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 run build-tsan thread rpc_test control_plane_test scorer_pool_test
fi
echo "sanitize: clean"
