#!/usr/bin/env bash
# Sanitizer builds of the torch-free tests (the LibTorch units are left out: LibTorch itself is
# not instrumented, and a sanitizer build of it is not what we ship):
#   scripts/sanitize.sh address   ASan + UBSan of every torch-free unit test and the fuzz
#                                 corpus replays, in build-asan/ (leaks fail too: LeakSanitizer)
#   scripts/sanitize.sh thread    TSan of the tests of what runs on several threads: the mailbox,
#                                 the metrics registry, the clients' retries and watchdogs, the
#                                 registry and worker agent over gRPC, in build-tsan/. TSan must
#                                 see absl::Mutex lock, and Debian's abseil is not built with it
#                                 (every member a Mutex guards would be reported as a race), so
#                                 this builds Debian's own abseil source (the same release, from
#                                 Debian's archive) with TSan into .deps/absl-tsan first, once.
#                                 Its inline namespace differs from Debian's build, so gRPC keeps
#                                 the packaged one and the two never meet.
#   scripts/sanitize.sh           both
# Any report fails the test that made it (no recovery); the suppressions (scripts/lsan.supp,
# scripts/tsan.supp) cover only reports inside Debian's libraries, each with its reason. Needs
# scripts/install-deps.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
what=${1:-all}

run() {  # run BUILD_DIR SANITIZERS TARGETS...: builds the targets, runs their ctest entries
  local dir=$1 sanitizers=$2; shift 2
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRTO_SANITIZE="$sanitizers" \
    -DRTO_BUILD_BENCH=OFF ${ABSL:+"-Dabsl_DIR=$ABSL/lib/cmake/absl"} >/dev/null
  cmake --build "$dir" -j2 --target "$@"
  local pattern
  pattern=$(IFS='|'; echo "$*")
  # A fuzz target's entry replays its corpus: fuzz_corpus_<target>.
  ctest --test-dir "$dir" -R "^(fuzz_corpus_)?($pattern)$" --output-on-failure -j2 --timeout 600
}

torch_free=(util_test safetensors_test model_config_test jinja_test tokenizer_test data_test synth_test config_test
  checkpoint_manager_test rpc_test control_plane_test scorer_pool_test shared_memory_ring_test security_test)
fuzz=(safetensors_header_fuzz safetensors_index_fuzz model_config_fuzz tokenizer_json_fuzz tokenizer_encode_fuzz
  sentencepiece_model_fuzz jsonl_fuzz config_fuzz wire_fuzz)
if [ "$what" = address ] || [ "$what" = all ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp \
    UBSAN_OPTIONS=print_stacktrace=1 \
    run build-asan address,undefined "${torch_free[@]}" "${fuzz[@]}"
fi
# abseil built with TSan, from Debian's source of the packaged release.
absl_tsan() {
  local out=$PWD/.deps/absl-tsan src=.deps/absl-src
  [ -f "$out/.complete" ] && return
  rm -rf "$src" "$out" && mkdir -p "$src"
  curl -fsSL http://deb.debian.org/debian/pool/main/a/abseil/abseil_20220623.1.orig.tar.gz |
    tar -xz -C "$src" --strip-components=1
  cmake -S "$src" -B "$src/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_STANDARD=20 \
    -DCMAKE_CXX_FLAGS="-fsanitize=thread" -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DABSL_PROPAGATE_CXX_STD=ON \
    -DBUILD_TESTING=OFF -DCMAKE_INSTALL_PREFIX="$out" >/dev/null
  cmake --build "$src/build" -j2 --target install >/dev/null
  rm -rf "$src"
  touch "$out/.complete"
}
if [ "$what" = thread ] || [ "$what" = all ]; then
  absl_tsan
  ABSL=$PWD/.deps/absl-tsan \
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp \
    run build-tsan thread rpc_test control_plane_test scorer_pool_test
fi
echo "sanitize: clean"
