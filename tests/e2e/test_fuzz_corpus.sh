#!/usr/bin/env bash
# The libFuzzer targets over their seed corpus (fuzz/corpus/TARGET), which
# holds every input a fuzzing run found a problem with: each must run clean
# under ASan and UBSan. make test builds the targets when clang and libFuzzer
# are installed; without them this skips. Fuzzing itself is `make fuzz`.
. "$(dirname "$0")/../lib.sh"

B=$ROOT/build/fuzz
for src in "$ROOT"/fuzz/fuzz_*.c; do
	t=$(basename "$src" .c)
	t=${t#fuzz_}
	if [ ! -x "$B/fuzz_$t" ]; then
		skip "fuzz_$t is not built (no clang with libFuzzer)"
		continue
	fi
	inputs=("$ROOT/fuzz/corpus/$t"/*)
	# Files, not the directory: libFuzzer only reads them, and runs each once.
	run env TMPDIR="$TMP" "$B/fuzz_$t" -timeout=60 "${inputs[@]}"
	expect_rc 0 "fuzz_$t runs its ${#inputs[@]} corpus inputs clean"
	n=$(grep -c '^Executed ' <<<"$err")
	expect_eq "$n" "${#inputs[@]}" "fuzz_$t executed every input"
done

done_testing
