#!/bin/sh
# SPDX-License-Identifier: MIT
# from_db.sh - `ukfork validate` without KVM: a database made by simulated runs of two-models.lua under two cost models, compared with --from-db (one CTest test per CASE).
# usage: from_db.sh UKFORK SOURCE_DIR CASE
set -u
UKF=$1 SRC=$2 CASE=$3
HERE=$SRC/tests/validate
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; [ -s "$T/out" ] && cat "$T/out"; exit 1; }

# model B: template clones 4x dearer than model A (data/model.conf)
cp "$SRC/data/model.conf" "$T/a.conf"
sed 's/^clone_base_ns = .*/clone_base_ns = 5.2ms/' "$SRC/data/model.conf" >"$T/b.conf"
grep -q '^clone_base_ns = 5.2ms' "$T/b.conf" || fail "model B not made"

# runs 1-2: model A, seeds 1-2; 3-4: model A again; 5-6: model B
mkdb() {
	for m in a a b; do
		"$UKF" run "$HERE/two-models.lua" --set "model=$T/$m.conf" \
			--reps 2 --seed 1 --db "$T/v.db" --quiet >"$T/run.out" 2>&1 ||
			{ cat "$T/run.out"; fail "ukfork run ($m) failed"; }
	done
}
# the error column of metric "$1" in $T/out, without the % sign
err_of() { grep "^$1 " "$T/out" | sed 's/.*) *[0-9]* *[0-9]* *[0-9.-]* *[0-9.-]* *//' | awk '{ sub("%", "", $1); print $1 }'; }

case $CASE in
identical)
	mkdb
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 3-4 >"$T/out" 2>&1
	rc=$?
	[ $rc -eq 0 ] || fail "identical runs: exit $rc, expected 0"
	grep -q '^verdict: PASS' "$T/out" || fail "no PASS verdict"
	# every error is exactly zero (same model, same seeds)
	n=$(grep -c ' +0.0%  \[ ' "$T/out")
	m=$(grep -c -E '^(cold|template|fork) p|^cold-start|^load node' "$T/out")
	[ "$m" -ge 11 ] || fail "expected 3 kinds x 3 quantiles + cold fraction + 2 nodes, got $m metrics"
	[ "$n" -eq "$m" ] || fail "$n of $m metrics have error +0.0%"
	# a checked metric whose interval reaches past the threshold is
	# marked so, its point error passing (it printed "ok" alike)
	for l in "$(grep '^cold p50 ' "$T/out" | sed 's/  (thin)$//')" \
		"$(grep '^template p50 ' "$T/out" | sed 's/  (thin)$//')"; do
		echo "$l" | awk '{ if ($NF != "ok") exit 1
			iv = $0; sub(/.*\[/, "", iv); sub(/\].*/, "", iv); gsub(/[%,]/, " ", iv)
			split(iv, b, " "); wide = b[1] + 0 < -5 || b[2] + 0 > 5
			exit wide != ($(NF - 1) == "(wide)") }' || fail "wide mark: $l"
	done
	# a quantile with fewer than 5 values beyond it on a side (n x
	# (1 - p) < 5; 2 runs a side: no groups) is marked "(thin)" where it
	# has an interval, and counted on a line after the verdict
	grep -E '^(cold|template|fork) p(50|95|99) ' "$T/out" | awk '{
		p = substr($2, 2) / 100; t = 1 - p; n = $4 < $5 ? $4 : $5
		iv = $0; sub(/.*\[/, "", iv); sub(/\].*/, "", iv)
		want = iv !~ /-,/ && n * t < 5 - 1e-9
		if (want != ($NF == "(thin)")) { print "thin mark: " $0; bad = 1 }
		thin += want }
		END { print thin > "/dev/stderr"; exit bad }' 2>"$T/nthin" || fail "$(cat "$T/nthin")"
	nt=$(cat "$T/nthin")
	[ "$nt" -ge 2 ] || fail "only $nt thin quantiles (the test's premise: cold starts are few)"
	grep -q "^thin: $nt of the quantiles ([0-9]* of them checked) have fewer than 5 values beyond them" "$T/out" ||
		fail "no thin line for $nt: $(tail -2 "$T/out")"
	nw=$(grep -c -E ' \(wide\) ok(  \(thin\))?$' "$T/out")
	if [ "$nw" -gt 0 ]; then
		grep -q "^intervals: $nw of the metrics within 5% have one reaching beyond it" "$T/out" ||
			fail "no intervals line for $nw wide: $(tail -3 "$T/out")"
	fi
	# runs 3-4 repeat runs 1-2 (same settings, seeds and reps): one side
	# selecting all four counts each once, as `ukfork report` does
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-4 --sim-runs 3-4 >"$T/out" 2>&1
	rc=$?
	[ $rc -eq 0 ] || fail "runs stored twice: exit $rc, expected 0"
	n1=$(sed -n 's/^real: \([0-9]*\) run(s), \([0-9]*\) requests; sim: \([0-9]*\) run(s), \([0-9]*\) requests$/\1 \2 \3 \4/p' "$T/out")
	set -- $n1
	[ "$#" -eq 4 ] && [ "$1" -eq 2 ] && [ "$3" -eq 2 ] && [ "$2" -eq "$4" ] ||
		fail "runs stored twice: counts '$n1', expected 2 runs and equal requests a side"
	grep -q '^left out: .*real 2, sim 0$' "$T/out" || fail "runs stored twice: not said"
	# real runs repeated with the same seeds are measurements of their
	# own (scripts/validate/repeat.sh pools two real sides): all kept
	cp "$T/v.db" "$T/real.db"
	sqlite3 "$T/real.db" "update runs set backend = 'kvm' where id <= 4" || fail "sqlite3 update"
	"$UKF" validate --from-db "$T/real.db" --real-runs 1-4 --sim-runs 5-6 >"$T/out" 2>&1
	grep -q '^real: 4 run(s)' "$T/out" || fail "real runs of one seed: $(grep -E '^real:|^left' "$T/out")"
	grep -q '^left out:' "$T/out" && fail "real runs of one seed left out: $(grep '^left' "$T/out")"
	grep -q '^note:' "$T/out" && fail "one scenario on both sides, yet a note about scenarios"
	# a run of another scenario in a side is pointed out (not refused)
	printf '%s\n' '-- another scenario' | cat - "$HERE/two-models.lua" >"$T/other.lua"
	"$UKF" run "$T/other.lua" --set "model=$T/a.conf" --seed 1 --db "$T/v.db" \
		--quiet >"$T/run.out" 2>&1 || { cat "$T/run.out"; fail "other.lua run failed"; }
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 3-7 >"$T/out" 2>&1
	grep -q '^note: runs of several scenarios on one side (real 1, sim 2)' "$T/out" ||
		fail "a side of two scenarios: no note"
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 7-7 >"$T/out" 2>&1
	grep -q '^note: the real and sim runs are of different scenarios' "$T/out" ||
		fail "sides of different scenarios: no note"
	# the same passing comparison that cannot be written is no pass
	if [ -w /dev/full ]; then
		"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 3-4 >/dev/full 2>"$T/err"
		rc=$?
		[ $rc -eq 1 ] || fail "stdout on a full device: exit $rc, expected 1"
		grep -q 'writing the comparison' "$T/err" || fail "stdout on a full device: no message"
	fi
	;;
both_sides)
	mkdb
	# a run on both sides is compared with itself: --real-runs alone
	# leaves the sim side its default, backend sim, which held the
	# stand-in real runs too (a +6.9% FAIL printed +2.9% PASS, exit 0)
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 >"$T/out" 2>&1
	rc=$?
	[ $rc -eq 2 ] || fail "--real-runs 1-2, the sim side backend sim (runs 1-6): exit $rc, expected 2"
	grep -q '2 run(s) on both sides (id 1-2)' "$T/out" || fail "the runs on both sides not named"
	grep -q 'the real side: --real-runs 1-2; the sim side: --sim-backend sim' "$T/out" ||
		fail "the sides' selections not named"
	grep -q -- '--real-runs/--sim-runs A-B' "$T/out" || fail "the options to give not named"
	# every simulated run on both sides (runs 3-4 copies of 1-2: counted once)
	"$UKF" validate --from-db "$T/v.db" --real-backend sim >"$T/out" 2>&1
	rc=$?
	[ $rc -eq 2 ] || fail "--real-backend sim: exit $rc, expected 2"
	grep -q '4 run(s) on both sides (id 1-2, 5-6)' "$T/out" || fail "--real-backend sim: $(cat "$T/out")"
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 2-3 >"$T/out" 2>&1
	rc=$?
	[ $rc -eq 2 ] && grep -q '1 run(s) on both sides (id 2)' "$T/out" ||
		fail "one run on both sides: exit $rc: $(cat "$T/out")"
	# disjoint sides still compare
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 5-6 >"$T/out" 2>&1
	rc=$?
	[ $rc -eq 1 ] || fail "disjoint sides: exit $rc, expected 1 (model B)"
	;;
known_sign)
	mkdb
	# sim (B) clones templates slower than real (A): template latency
	# error positive and past 5%: exit 1; the other way round negative
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 5-6 >"$T/out" 2>&1
	rc=$?
	[ $rc -eq 1 ] || fail "dearer clones in sim: exit $rc, expected 1"
	grep -q '^verdict: FAIL' "$T/out" || fail "no FAIL verdict"
	e=$(err_of "template p50")
	awk -v e="$e" 'BEGIN { exit !(e > 50) }' || fail "template p50 error '$e', expected > +50%"
	grep '^template p50' "$T/out" | grep -q FAIL || fail "template p50 not marked FAIL"
	cp "$T/out" "$T/first"
	"$UKF" validate --from-db "$T/v.db" --real-runs 5-6 --sim-runs 1-2 >"$T/out" 2>&1
	[ $? -eq 1 ] || fail "reversed: expected exit 1"
	e=$(err_of "template p50")
	awk -v e="$e" 'BEGIN { exit !(e < -30) }' || fail "reversed template p50 error '$e', expected < -30%"
	# the bootstrap is seeded: the same comparison prints the same table
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 5-6 >"$T/out" 2>&1
	cmp -s "$T/out" "$T/first" || fail "a repeated comparison printed another table"
	# --app: one app's instances on both sides; the two apps' requests
	# add up to all of them, and each shows the dearer clones
	total=$(sed -n 's/^real: [0-9]* run(s), \([0-9]*\) requests;.*/\1/p' "$T/first")
	sum=0
	for a in a f; do
		"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 5-6 --app $a >"$T/out" 2>&1
		[ $? -eq 1 ] || fail "--app $a: expected exit 1"
		grep -q "requests (of app $a only)\$" "$T/out" || fail "--app $a: not said: $(head -1 "$T/out")"
		n=$(sed -n 's/^real: [0-9]* run(s), \([0-9]*\) requests;.*/\1/p' "$T/out")
		[ -n "$n" ] && [ "$n" -gt 0 ] && [ "$n" -lt "$total" ] || fail "--app $a: $n requests of $total"
		sum=$((sum + n))
		e=$(err_of "template p50")
		awk -v e="$e" 'BEGIN { exit !(e > 50) }' || fail "--app $a: template p50 error '$e', expected > +50%"
	done
	[ "$sum" -eq "$total" ] || fail "--app a and f: $sum requests, all of them $total"
	;;
threshold)
	mkdb
	# the same difference is within a 1000% threshold, and passes when
	# only the cold-start fraction (equal in both) is checked
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 5-6 --threshold 1000 >"$T/out" 2>&1
	[ $? -eq 0 ] || fail "--threshold 1000: expected exit 0"
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 5-6 --metrics load >"$T/out" 2>&1
	rc=$?
	[ $rc -eq 0 ] || fail "--metrics load: exit $rc, expected 0 (round-robin: the same split)"
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 5-6 --metrics p99 >"$T/out" 2>&1
	[ $? -eq 1 ] || fail "--metrics p99: expected exit 1"
	# an error equal to the threshold is within it, whatever the
	# rounding: every template clone 1.000 ms on the real side, 1.050 ms
	# or 0.950 ms on the simulated one ((1.05 - 1) / 1 is
	# 0.050000000000000044: it failed 5%, while 105 against 100 ms
	# passed); 1.050001 ms is beyond it
	command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3"; exit 77; }
	for sim_ns in 1050000:ok 950000:ok 1050001:FAIL; do
		cp "$T/v.db" "$T/th.db"
		sqlite3 "$T/th.db" "UPDATE instances SET t_ready = t_request + 1000000 WHERE start = 'template' AND t_ready IS NOT NULL AND run <= 2;
			UPDATE instances SET t_ready = t_request + ${sim_ns%:*} WHERE start = 'template' AND t_ready IS NOT NULL AND run IN (3, 4)" ||
			fail "sqlite3 update"
		"$UKF" validate --from-db "$T/th.db" --real-runs 1-2 --sim-runs 3-4 --metrics p50 >"$T/out" 2>&1
		rc=$?
		l=$(grep '^template p50 ' "$T/out")
		case ${sim_ns#*:} in
		ok) [ $rc -eq 0 ] && echo "$l" | grep -q -E '  [+-]5[.]0%  \[ +[+-]5[.]0%, +[+-]5[.]0% \]  ok$' ||
			fail "template clones of ${sim_ns%:*} ns against 1000000: exit $rc, $l" ;;
		*) [ $rc -eq 1 ] && echo "$l" | grep -q ' FAIL$' ||
			fail "template clones of ${sim_ns%:*} ns against 1000000: exit $rc, $l" ;;
		esac
	done
	;;
bad_input)
	mkdb
	cd "$T" || fail "cd $T"
	for args in "--from-db $T/none.db" "--from-db $T/v.db --sim-runs 90-99" \
		"--from-db $T/v.db --metrics p42" "--from-db $T/v.db --threshold x" \
		"--from-db $T/v.db --real-runs 3-1" "--bogus" "" \
		"$HERE/two-models.lua" "$HERE/two-models.lua --backend sim" \
		"--from-db $T/v.db --backend kvm" "$T/none.lua --backend kvm" \
		"--from-db $T/v.db --real-runs 1-2 --sim-runs 3-4 --reps 3" \
		"--from-db $T/v.db --real-runs 1-2 --sim-runs 3-4 --sim-reps 3" \
		"$HERE/two-models.lua --backend kvm --sim-reps 0" \
		"$HERE/two-models.lua --backend kvm --sim-reps x" \
		"$HERE/two-models.lua --backend kvm --sim-reps 2 --sim-reps 3" \
		"--from-db $T/v.db --real-runs 1-2 --sim-runs 3-4 --metrics p50,,p95" \
		"--from-db $T/v.db --real-runs 1-2 --sim-runs 3-4 --metrics p50," \
		"--from-db $T/v.db --real-runs 1-2 --sim-runs 3-4 --seed 2" \
		"--from-db $T/v.db --real-runs 1-2 --sim-runs 3-4 --set nodes=4" \
		"$T --backend kvm" "$HERE/two-models.lua --backend kvm --set bogus" \
		"--from-db $T/v.db --real-runs 1-2 --sim-runs 3-4 --plot --threshold" \
		"--from-db $T/v.db --real-runs 1-2 --real-runs 3-4 --sim-runs 3-4" \
		"--from-db $T/v.db --real-runs 1-2 --sim-runs 3-4 --threshold 5 --threshold 90" \
		"--from-db $T/v.db --real-runs 1-2 --sim-runs 3-4 --app nosuch" \
		"--from-db $T/v.db --real-runs 1-2 --sim-runs 3-4 --app a --app f" \
		"--from-db $T/v.db --real-runs 1-2 --sim-runs 3-4 --resamples 10" \
		"--from-db $T/v.db --real-runs 1-2 --sim-runs 3-4 --resamples 199" \
		"--from-db $T/v.db --real-runs 1-2 --sim-runs 3-4 --boot-seed 4294967296" \
		"--from-db $T/v.db --real-runs 1-2 --sim-runs 3-4 --boot-seed 4294967297" \
		"--from-db $T/v.db --real-runs 1-2 --sim-runs 3-4 --real-label --sim-label"; do
		# shellcheck disable=SC2086
		"$UKF" validate $args >"$T/out" 2>&1
		rc=$?
		[ $rc -eq 2 ] || fail "ukfork validate $args: exit $rc, expected 2"
	done
	# a 95% interval needs 10 / 0.05 = 200 resamples (of 10 it was
	# their smallest and largest); the bootstrap seed is 32 bits (GSL's
	# mt19937 drew for 2^32 + 1 what it draws for 1), 0 its 4357
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 3-4 --resamples 10 >"$T/rs" 2>&1
	grep -q -- "--resamples: expected 200..1000000 (a 95% interval" "$T/rs" || fail "--resamples 10: $(cat "$T/rs")"
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 5-6 --resamples 200 >"$T/rs" 2>&1
	[ $? -eq 1 ] && grep -q ', 200 bootstrap resamples' "$T/rs" || fail "--resamples 200: $(cat "$T/rs")"
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 3-4 --boot-seed 4294967297 >"$T/rs" 2>&1
	grep -q -- "--boot-seed: expected 0..4294967295" "$T/rs" || fail "--boot-seed 2^32 + 1: $(cat "$T/rs")"
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 5-6 --boot-seed 4294967295 >"$T/rs" 2>&1
	[ $? -eq 1 ] || fail "--boot-seed 4294967295: $(cat "$T/rs")"
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 5-6 --boot-seed 0 | sed 's/seed [0-9]*)/seed)/' >"$T/s0"
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 5-6 --boot-seed 4357 | sed 's/seed [0-9]*)/seed)/' >"$T/s4357"
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 5-6 --boot-seed 1 | sed 's/seed [0-9]*)/seed)/' >"$T/s1"
	cmp -s "$T/s0" "$T/s4357" || fail "--boot-seed 0 and 4357: not the same table (documented: 0 is 4357)"
	cmp -s "$T/s0" "$T/s1" && fail "--boot-seed 0 and 1: the same table"
	# --sim-reps: a run's option, not of --from-db; in 1..1000000
	"$UKF" validate --from-db "$T/v.db" --sim-reps 3 >"$T/sr" 2>&1
	grep -q -- '--sim-reps' "$T/sr" || fail "--from-db with --sim-reps: the message does not name it: $(cat "$T/sr")"
	"$UKF" validate "$HERE/two-models.lua" --backend kvm --sim-reps 0 >"$T/sr" 2>&1
	grep -q "sim-reps: expected 1..1000000, got '0'" "$T/sr" || fail "--sim-reps 0: $(cat "$T/sr")"
	# an option given twice is refused, naming it (the last one won)
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 3-4 \
		--threshold 5 --threshold 90 >"$T/twice" 2>&1
	grep -q -- "--threshold given twice" "$T/twice" ||
		fail "--threshold twice: $(cat "$T/twice")"
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 3-4 --app nosuch >"$T/app" 2>&1
	grep -q "the real side's 2 run(s) have no instance of app 'nosuch'" "$T/app" ||
		fail "--app nosuch: $(cat "$T/app")"
	# an option where a value belongs is named (it was taken as the value)
	[ ! -e ./--threshold ] || fail "--plot --threshold made a directory named --threshold"
	grep -q "needs a value (found the option '--sim-label')" "$T/out" ||
		fail "--real-label --sim-label: $(cat "$T/out")"
	# held-out.lua's pace: a number in (0, 10], refused at its line
	for pace in 0 -1 11 fast; do
		"$UKF" run "$SRC/scripts/validate/held-out.lua" --set "pace=$pace" \
			--quiet >"$T/pace" 2>&1
		rc=$?
		[ $rc -eq 2 ] || fail "held-out.lua pace=$pace: exit $rc, expected 2"
		grep -q "held-out.lua:[0-9]*: pace must be a number in (0, 10], got $pace" "$T/pace" ||
			fail "held-out.lua pace=$pace: $(cat "$T/pace")"
	done
	"$UKF" run "$SRC/scripts/validate/held-out.lua" --set pace=0.25 --quiet >"$T/pace" 2>&1 ||
		fail "held-out.lua pace=0.25: $(cat "$T/pace")"
	echo "not sqlite" >"$T/text.db"
	"$UKF" validate --from-db "$T/text.db" >"$T/out" 2>&1
	[ $? -eq 2 ] || fail "a text file as database: expected exit 2"
	# default sides: backend kvm vs sim; these runs are all sim
	"$UKF" validate --from-db "$T/v.db" >"$T/out" 2>&1
	[ $? -eq 2 ] || fail "no kvm runs: expected exit 2"
	grep -q 'real side selects no scenario run' "$T/out" || fail "message does not name the real side"
	# files `ukfork report` refuses: a newer schema, a foreign SQLite file
	if command -v sqlite3 >/dev/null 2>&1; then
		cp "$T/v.db" "$T/newer.db"
		sqlite3 "$T/newer.db" "UPDATE meta SET value = '99' WHERE key = 'schema_version'"
		"$UKF" validate --from-db "$T/newer.db" --real-runs 1-2 --sim-runs 3-4 >"$T/out" 2>&1
		rc=$?
		[ $rc -eq 2 ] || fail "a newer schema: exit $rc, expected 2"
		grep -q 'schema version 99 is newer' "$T/out" || fail "a newer schema: not said"
		sqlite3 "$T/foreign.db" "CREATE TABLE runs(id); CREATE TABLE instances(run)"
		"$UKF" validate --from-db "$T/foreign.db" --real-backend x >"$T/out" 2>&1
		rc=$?
		[ $rc -eq 2 ] || fail "a foreign SQLite file: exit $rc, expected 2"
		grep -q 'not a ukfork results database' "$T/out" || fail "a foreign file: not said"
	fi
	# a --plot that cannot work is refused before anything is compared
	# or run (exit 2, nothing on stdout), not after a KVM run (exit 1)
	: >"$T/afile"
	UKF_GNUPLOT=/bin/true "$UKF" validate --from-db "$T/v.db" --real-runs 1-2 \
		--sim-runs 5-6 --plot "$T/afile" >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -eq 2 ] || fail "--plot into a file: exit $rc, expected 2"
	[ -s "$T/out" ] && fail "--plot into a file: the comparison was printed"
	grep -q "afile: not a directory" "$T/err" || fail "--plot into a file: no message naming it"
	UKF_GNUPLOT=$T/no-gnuplot "$UKF" validate --from-db "$T/v.db" --real-runs 1-2 \
		--sim-runs 5-6 --plot "$T/p" >"$T/out" 2>"$T/err"
	[ $? -eq 2 ] || fail "--plot without gnuplot: expected exit 2"
	[ -s "$T/out" ] && fail "--plot without gnuplot: the comparison was printed"
	grep -q "needs gnuplot" "$T/err" || fail "--plot without gnuplot: no message"
	# the same before a real run: exit 2 here with or without /dev/kvm
	UKF_GNUPLOT=/bin/true "$UKF" validate "$HERE/two-models.lua" --backend kvm \
		--db "$T/k.db" --plot "$T/afile" >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -eq 2 ] || fail "--backend kvm --plot into a file: exit $rc, expected 2"
	[ -e "$T/k.db" ] && fail "--backend kvm --plot into a file: a run was made"
	;;
no_kvm)
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		echo "SKIP: /dev/kvm is usable here"
		exit 77
	fi
	"$UKF" validate "$HERE/two-models.lua" --backend kvm --db "$T/k.db" >"$T/out" 2>&1
	rc=$?
	[ $rc -eq 77 ] || fail "no /dev/kvm: exit $rc, expected 77"
	grep -q 'real backend is unavailable' "$T/out" || fail "no message saying the backend is unavailable"
	;;
kvm_live)
	# both worlds run by validate itself: the real one on this machine's
	# KVM (one replication), the simulated one with --sim-reps 4 (seeds
	# 1-4, the first the real run's); the verdict is not what is checked
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		echo "SKIP: /dev/kvm is not usable here"
		exit 77
	fi
	# pace 0.05: the workload in 3 s; inside scripts/kvm-vm (emulated) 1,
	# its 60 s (at 0.05 no cold boot had ended when the run did: 15
	# requests, no fork, in a fresh-clone suite there)
	pace=0.05
	[ -n "${UKF_IN_KVM_VM:-}" ] && pace=1
	"$UKF" validate "$SRC/scripts/validate/held-out.lua" --backend kvm \
		--set pace=$pace --reps 1 --sim-reps 4 --model "$SRC/data/model.conf" \
		--db "$T/k.db" >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 1 ] || fail "validate on KVM: exit $rc: $(tail -5 "$T/err")"
	cat "$T/out"
	grep -q '1 rep(s) (sim 4), seed 1$' "$T/out" || fail "the header does not give both replication counts"
	grep -q '^real: 1 run(s), .*sim: 4 run(s)' "$T/out" || fail "not 1 real and 4 simulated runs compared"
	[ "$(sqlite3 "$T/k.db" "SELECT group_concat(r, ' ') FROM (SELECT backend || ':' || seed || ':' || rep AS r FROM runs ORDER BY id)")" = \
		"kvm:1:0 sim:1:0 sim:1:1 sim:1:2 sim:1:3" ] ||
		fail "runs: $(sqlite3 "$T/k.db" "SELECT backend, seed, rep FROM runs")"
	# the real run and the simulated one of the same seed and rep made the
	# same requests
	[ "$(sqlite3 "$T/k.db" "SELECT count(*) FROM instances WHERE run = 1")" = \
		"$(sqlite3 "$T/k.db" "SELECT count(*) FROM instances WHERE run = 2")" ] ||
		fail "the real run and the simulated one of its seed differ in their requests"
	;;
matched)
	# a real side of 2 runs (seed 1, reps 0-1; a simulated run relabelled
	# kvm) against 6 simulated ones (seed 1, reps 0-5) of the same model:
	# 3 groups of 2 runs, reps 0-1, 2-3 and 4-5, and each simulated figure
	# the mean of the groups' figures, checked against the same quantiles
	# computed here (the smallest value at or above the fraction p of
	# them); --sim-pooled: over all 6 runs at once
	for r in 2 6; do
		"$UKF" run "$HERE/two-models.lua" --set "model=$SRC/data/model.conf" \
			--reps $r --seed 1 --db "$T/v.db" --quiet >"$T/run.out" 2>&1 ||
			{ cat "$T/run.out"; fail "ukfork run (--reps $r) failed"; }
	done
	sqlite3 "$T/v.db" "update runs set backend = 'kvm' where id <= 2" || fail "sqlite3 update"
	[ "$(sqlite3 "$T/v.db" "select group_concat(id || ':' || backend || ':' || seed || ':' || rep, ' ') from runs")" = \
		"1:kvm:1:0 2:kvm:1:1 3:sim:1:0 4:sim:1:1 5:sim:1:2 6:sim:1:3 7:sim:1:4 8:sim:1:5" ] ||
		fail "runs: $(sqlite3 "$T/v.db" "select id, backend, seed, rep from runs")"
	# q KIND P RUNS: the quantile P of KIND's request-to-ready (ms) in RUNS
	q() {
		sqlite3 "$T/v.db" "select (t_ready - t_request) / 1e6 from instances where start = '$1'
			and t_ready is not null and run in ($3) order by 1" |
			awk -v p="$2" '{ v[NR] = $1 } END { k = int(p * NR + 0.999999); if (k < 1) k = 1; printf "%.6f", v[k] }'
	}
	# as the table prints them
	r3() { awk -v a="$1" 'BEGIN { printf "%.3f", a }'; }
	mean3() { awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN { printf "%.3f", (a + b + c) / 3 }'; }
	"$UKF" validate --from-db "$T/v.db" >"$T/out" 2>&1
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 1 ] || fail "matched: exit $rc"
	grep -q '^sim: each quantile the mean over 3 groups of 2 simulated runs (the real runs. seeds' "$T/out" ||
		fail "matched: no line saying 3 groups of 2 runs"
	# the first group is the real side itself: it and the other two
	# differ somewhere (else the check below proves nothing)
	for k in template fork; do
		for p in 50 95 99; do
			pp=0.$p
			g1=$(q $k $pp 3,4) g2=$(q $k $pp 5,6) g3=$(q $k $pp 7,8)
			want=$(mean3 "$g1" "$g2" "$g3")
			got=$(grep "^$k p$p " "$T/out" | awk '{ print $7 }')
			[ "$(q $k $pp 1,2)" = "$g1" ] || fail "$k p$p: the real runs and sim reps 0-1 differ"
			[ "$got" = "$want" ] || fail "$k p$p: sim figure $got, want the mean of $g1 $g2 $g3 = $want"
			[ "$g1 $g2 $g3" != "$g1 $g1 $g1" ] && differ=1
		done
	done
	[ -n "${differ:-}" ] || fail "the three groups gave the same figures everywhere (nothing tested)"
	"$UKF" validate --from-db "$T/v.db" --sim-pooled >"$T/out" 2>&1
	grep -q '^sim: each quantile' "$T/out" && fail "--sim-pooled still in groups"
	for k in template fork; do
		got=$(grep "^$k p95 " "$T/out" | awk '{ print $7 }')
		want=$(r3 "$(q $k 0.95 3,4,5,6,7,8)")
		[ "$got" = "$want" ] || fail "--sim-pooled: $k p95 $got, want $want over all 6 runs"
	done
	# fewer than 2 groups' worth of simulated runs: pooled, said nowhere
	"$UKF" validate --from-db "$T/v.db" --sim-runs 3-5 >"$T/out" 2>&1
	grep -q '^sim: each quantile' "$T/out" && fail "3 simulated runs for 2 real ones: grouped"
	got=$(grep "^template p50 " "$T/out" | awk '{ print $7 }')
	want=$(r3 "$(q template 0.5 3,4,5)")
	[ "$got" = "$want" ] || fail "3 simulated runs: template p50 $got, want $want"
	# two seeds in unequal numbers: real seed 1 reps 0-2 and seed 2 rep 0
	# (runs 1-4), simulated seed 1 reps 0-5 (runs 5-10) and seed 2 reps
	# 0-1 (11-12): 2 groups by seed, runs 5-7 + 11 and 8-10 + 12 (chunks
	# in (rep, seed) order would be 5 11 6 12 and 7-10)
	for sr in 1:3 2:1 1:6 2:2; do
		"$UKF" run "$HERE/two-models.lua" --set "model=$SRC/data/model.conf" \
			--reps "${sr#*:}" --seed "${sr%%:*}" --db "$T/w.db" --quiet >"$T/run.out" 2>&1 ||
			{ cat "$T/run.out"; fail "ukfork run (seed ${sr%%:*}) failed"; }
	done
	sqlite3 "$T/w.db" "update runs set backend = 'kvm' where id <= 4" || fail "sqlite3 update"
	qw() { # KIND P RUNS [DB]
		sqlite3 "${4:-$T/w.db}" "select (t_ready - t_request) / 1e6 from instances where start = '$1'
			and t_ready is not null and run in ($3) order by 1" |
			awk -v p="$2" '{ v[NR] = $1 } END { k = int(p * NR + 0.999999); if (k < 1) k = 1; printf "%.6f", v[k] }'
	}
	mean2() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (a + b) / 2 }'; }
	"$UKF" validate --from-db "$T/w.db" >"$T/out" 2>&1
	grep -q '^sim: each quantile the mean over 2 groups of 4 simulated runs (the real runs. seeds, as many runs of each; 8 of the 8 runs)' "$T/out" ||
		fail "two seeds: not 2 groups of 4 runs by seed: $(grep '^sim' "$T/out")"
	for k in cold template fork; do
		for p in 50 95 99; do
			want=$(mean2 "$(qw $k 0.$p 5,6,7,11)" "$(qw $k 0.$p 8,9,10,12)")
			got=$(grep "^$k p$p " "$T/out" | awk '{ print $7 }')
			[ "$got" = "$want" ] || fail "two seeds: $k p$p $got, want $want (the mean of the groups by seed)"
		done
	done
	n=$(sqlite3 "$T/w.db" "select count(*) from instances where start = 'fork' and t_ready is not null and run >= 5")
	[ "$(grep '^fork p50 ' "$T/out" | awk '{ print $5 }')" = "$n" ] || fail "two seeds: n sim of fork p50 is not $n"
	# the fractions come from all the simulated requests, not the groups
	want=$(sqlite3 "$T/w.db" "select printf('%.4f', avg(start = 'cold')) from instances where run >= 5")
	[ "$(grep '^cold-start fraction ' "$T/out" | awk '{ print $6 }')" = "$want" ] ||
		fail "two seeds: cold-start fraction $(grep '^cold-start fraction ' "$T/out"), want $want over all"
	# a group without forks: the fork quantiles are the other group's
	cp "$T/w.db" "$T/w2.db"
	sqlite3 "$T/w2.db" "delete from instances where start = 'fork' and run in (8, 9, 10, 12)" || fail "sqlite3 delete"
	"$UKF" validate --from-db "$T/w2.db" >"$T/out" 2>&1
	got=$(grep '^fork p95 ' "$T/out" | awk '{ print $7 }')
	want=$(r3 "$(qw fork 0.95 5,6,7,11 "$T/w2.db")")
	[ "$got" = "$want" ] || fail "a group without forks: fork p95 $got, want the other group's $want"
	grep -q '^fork p95 .*one world only' "$T/out" && fail "a group without forks: called one world only"
	# the simulated runs of seeds the real side lacks: chunks of 2 runs
	"$UKF" run "$HERE/two-models.lua" --set "model=$SRC/data/model.conf" \
		--reps 4 --seed 7 --db "$T/v.db" --quiet >"$T/run.out" 2>&1 || fail "ukfork run (seed 7) failed"
	"$UKF" validate --from-db "$T/v.db" --sim-runs 9-12 >"$T/out" 2>&1
	grep -q '^sim: each quantile the mean over 2 groups of 2 simulated runs (in (rep, seed) order' "$T/out" ||
		fail "other seeds: not 2 chunks of 2 runs: $(grep '^sim' "$T/out")"
	;;
by_run)
	# one simulated run copied into 10 "real" runs (seed 1, reps 0-9) and
	# 20 simulated ones (reps 0-19): every real run alike, and the 2 groups
	# of 10 simulated runs alike. Resampled by run, the real quantiles
	# cannot move, nor the grouped simulated ones: each quantile's
	# interval is its error exactly. With 9 real runs (under 10) the real
	# requests are resampled one by one, and the intervals open.
	"$UKF" run "$HERE/two-models.lua" --set "model=$SRC/data/model.conf" \
		--reps 1 --seed 1 --db "$T/b.db" --quiet >"$T/run.out" 2>&1 ||
		{ cat "$T/run.out"; fail "ukfork run failed"; }
	sq=""
	for k in $(seq 2 31); do
		if [ "$k" -le 11 ]; then be=kvm rep=$((k - 2)); else be=sim rep=$((k - 12)); fi
		sq="$sq update r set id = $k, rep = $rep, backend = '$be'; insert into runs select * from r;
			update t set run = $k; insert into instances select * from t;"
	done
	sqlite3 "$T/b.db" "create temp table r as select * from runs where id = 1;
		create temp table t as select * from instances where run = 1; $sq
		update runs set backend = 'original' where id = 1;" || fail "sqlite3 copies"
	"$UKF" validate --from-db "$T/b.db" >"$T/out" 2>&1
	grep -q '^real: 10 run(s)' "$T/out" || fail "by run: not 10 real runs: $(head -2 "$T/out")"
	grep -q 'bootstrap resamples (real: of the runs; sim: its quantiles of the groups, its fractions of the runs' "$T/out" ||
		fail "by run: the line does not say runs and groups: $(grep '^error' "$T/out")"
	n=$(grep -cE '^(cold|template|fork) p(50|95|99) ' "$T/out")
	[ "$n" -eq 9 ] || fail "by run: $n quantile rows, want 9"
	z=$(grep -E '^(cold|template|fork) p(50|95|99) ' "$T/out" | grep -c '+0.0%  \[   +0.0%,   +0.0% \]')
	[ "$z" -eq 9 ] || fail "by run: $z of 9 quantile rows with error and interval exactly 0"
	# the fractions too: the simulated runs are resampled by run as
	# well (by request, a cold-start fraction the same in every run had
	# an interval of [-37.5%, +41.7%])
	n=$(grep -cE '^cold-start fraction |^load node ' "$T/out")
	z=$(grep -E '^cold-start fraction |^load node ' "$T/out" | grep -c '+0.0%  \[   +0.0%,   +0.0% \]')
	[ "$n" -ge 3 ] && [ "$z" -eq "$n" ] || fail "by run: $z of $n fraction rows with interval exactly 0: $(grep -E '^cold-start|^load' "$T/out")"
	# pooled: every figure's interval exactly 0
	"$UKF" validate --from-db "$T/b.db" --sim-pooled >"$T/out" 2>&1
	grep -q 'bootstrap resamples (real: of the runs; sim: of the runs; seed 1)' "$T/out" ||
		fail "--sim-pooled by run: $(grep '^error' "$T/out")"
	n=$(grep -cE '^(cold|template|fork) p|^cold-start fraction |^load node ' "$T/out")
	z=$(grep -E '^(cold|template|fork) p|^cold-start fraction |^load node ' "$T/out" | grep -c '+0.0%  \[   +0.0%,   +0.0% \]')
	[ "$n" -eq 12 ] && [ "$z" -eq 12 ] || fail "--sim-pooled by run: $z of $n rows with interval exactly 0"
	# 9 simulated runs (under 10): by request, the intervals open
	"$UKF" validate --from-db "$T/b.db" --sim-runs 12-20 >"$T/out" 2>&1
	grep -q 'bootstrap resamples (real: of the runs; sim: of the requests; seed 1)' "$T/out" ||
		fail "9 simulated runs: not resampled by request: $(grep '^error' "$T/out")"
	z=$(grep -E '^(cold|template|fork) p|^cold-start fraction |^load node ' "$T/out" | grep -c '+0.0%  \[   +0.0%,   +0.0% \]')
	[ "$z" -lt 12 ] || fail "9 simulated runs resampled by request: every interval still exactly 0"
	"$UKF" validate --from-db "$T/b.db" --real-runs 2-10 >"$T/out" 2>&1
	grep -q 'bootstrap resamples (real: of the requests;' "$T/out" ||
		fail "9 real runs: not resampled by request: $(grep '^error' "$T/out")"
	z=$(grep -E '^(cold|template|fork) p(50|95|99) ' "$T/out" | grep -c '+0.0%  \[   +0.0%,   +0.0% \]')
	[ "$z" -lt 9 ] || fail "9 real runs resampled by request: every interval still exactly 0"
	;;
phases)
	command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3"; exit 77; }
	mkdb
	# without --phases no table; with it twice, a usage error
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 3-4 >"$T/out" 2>&1
	grep -q '^phases:' "$T/out" && fail "a phases table without --phases"
	"$UKF" validate --from-db "$T/v.db" --phases --phases >"$T/out" 2>&1
	[ $? -eq 2 ] && grep -q 'phases given twice' "$T/out" || fail "--phases twice: not refused"
	# identical runs: every difference 0
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 3-4 --phases >"$T/out" 2>&1
	[ $? -eq 0 ] || fail "identical runs with --phases: not exit 0"
	grep -q '^phases:' "$T/out" || fail "no phases table"
	rows=$(grep -c -E '^(cold|template|fork) +(local|remote|fetched) ' "$T/out")
	[ "$rows" -ge 21 ] || fail "$rows phase rows, expected 3 groups of 7 at least"
	grep -E '^(cold|template|fork) +(local|remote|fetched) ' "$T/out" |
		grep -v ' requests ' | grep -v -E ' [+]0[.]0000( |$)' &&
		fail "identical runs: a difference not 0"
	# each quantile's value from the same start in both worlds
	q=$(grep -c -E '^(cold|template|fork) p(50|95|99)  real: ' "$T/out")
	[ "$q" -eq 9 ] || fail "$q quantile source lines, expected 9"
	grep -q 'different starts' "$T/out" && fail "identical runs: different starts"
	grep -E '^fork p50  real: ' "$T/out" >"$T/src"
	sed 's/.*  real: \(.*\)  sim: \(.*\)$/\1|\2/' "$T/src" | awk -F'|' '$1 != $2 { exit 1 }' ||
		fail "identical runs: fork p50 sources differ: $(cat "$T/src")"
	# a knife edge: the fork p50 is a remote child's, d ranks above the
	# local ones; on the real side the d + 1 fastest remote children
	# said to be local, its p50 comes from a "local" start, the
	# simulated one still from a remote one
	d=$(sed -n 's/^fork p50  real: remote (rank [0-9]* of [0-9]*; a local start \([0-9]*\) ranks* below).*/\1/p' "$T/out")
	[ -n "$d" ] || fail "the fork p50 is no remote child's just above the local ones (the test's premise): $(cat "$T/src")"
	cp "$T/v.db" "$T/edge.db"
	sqlite3 "$T/edge.db" "UPDATE instances SET remote = 0 WHERE rowid IN (SELECT rowid FROM instances WHERE run <= 2 AND start = 'fork' AND remote AND NOT coalesce(template_fetched, 0) AND t_ready IS NOT NULL ORDER BY t_ready - t_request LIMIT $((d + 1)))" ||
		fail "sqlite3 update"
	"$UKF" validate --from-db "$T/edge.db" --real-runs 1-2 --sim-runs 3-4 --phases >"$T/out" 2>&1
	grep -q '^fork p50  real: local (rank .*  sim: remote (rank .*  <- different starts, their real medians .*: the shares decide$' "$T/out" ||
		fail "the knife edge not said: $(grep '^fork p50 ' "$T/out")"
	# model B's dearer template clones: the template starts' start ->
	# ready longer, their placement not
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 5-6 --phases >"$T/out" 2>&1
	d=$(awk '$1 == "template" && $2 == "local" && $3 == "start" { print $8 }' "$T/out")
	awk -v d="$d" 'BEGIN { exit !(d + 0 > 2) }' || fail "template local start -> ready: model B's extra $d ms, expected above 2"
	grep -E '^template +local +request -> placed ' "$T/out" | grep -q ' [+]0[.]0000' ||
		fail "template local request -> placed differs"
	# the real side's figures against SQL: the count of template clones
	# started where requested, their median start -> ready, their nodes'
	# median idle spell before the placement
	W="i.run <= 2 AND i.start = 'template' AND i.t_ready IS NOT NULL AND NOT i.remote AND NOT coalesce(i.template_fetched, 0)"
	n=$(sqlite3 "$T/v.db" "SELECT count(*) FROM instances i WHERE $W")
	got=$(awk '$1 == "template" && $2 == "local" && $3 == "requests" { print $4 }' "$T/out")
	[ "$n" -gt 2 ] && [ "$got" = "$n" ] || fail "template local requests: table $got, SQL $n"
	med() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.4f\n", m / 1e6 }'; }
	want=$(sqlite3 "$T/v.db" "SELECT t_ready - t_start FROM instances i WHERE $W" | med)
	got=$(awk '$1 == "template" && $2 == "local" && $3 == "start" { print $6 }' "$T/out")
	[ "$got" = "$want" ] || fail "template local start -> ready: table $got, SQL $want"
	A="SELECT j.%s AS t FROM instances j WHERE j.run = i.run AND j.node = i.node AND j.%s < i.t_placed"
	U="$(printf "$A" t_start t_start) UNION ALL $(printf "$A" t_ready t_ready) UNION ALL $(printf "$A" t_exit t_exit)"
	want=$(sqlite3 "$T/v.db" "SELECT i.t_placed - coalesce((SELECT max(t) FROM ($U)), 0) FROM instances i WHERE $W" | med)
	got=$(awk '$1 == "template" && $2 == "local" && $3 == "node" { print $6 }' "$T/out")
	[ "$got" = "$want" ] || fail "template local node idle: table $got, SQL $want"
	# with --app, the other app's instances still made the node busy
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 5-6 --phases --app a >"$T/out" 2>&1
	want=$(sqlite3 "$T/v.db" "SELECT i.t_placed - coalesce((SELECT max(t) FROM ($U)), 0) FROM instances i WHERE $W AND i.app = 'a'" | med)
	got=$(awk '$1 == "template" && $2 == "local" && $3 == "node" { print $6 }' "$T/out")
	[ "$got" = "$want" ] || fail "--app a: template local node idle: table $got, SQL $want"
	;;
where)
	command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3"; exit 77; }
	mkdb
	"$UKF" validate --from-db "$T/v.db" --where elsewhere >"$T/out" 2>&1
	[ $? -eq 2 ] && grep -q "where: local, remote or fetched, got 'elsewhere'" "$T/out" ||
		fail "a bad --where: not refused"
	"$UKF" validate --from-db "$T/v.db" --where local --where remote >"$T/out" 2>&1
	[ $? -eq 2 ] || fail "--where twice: not refused"
	# each side limited to its forks started there: the counts as SQL
	# has them, the same runs compared with themselves pass
	for w in local remote fetched; do
		"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 3-4 --where $w >"$T/out" 2>&1
		[ $? -eq 0 ] || fail "--where $w on identical runs: not exit 0"
		case $w in
		local) c="NOT remote AND NOT coalesce(template_fetched, 0)" ;;
		remote) c="remote AND NOT coalesce(template_fetched, 0)" ;;
		*) c="coalesce(template_fetched, 0)" ;;
		esac
		n=$(sqlite3 "$T/v.db" "SELECT count(*) FROM instances WHERE run <= 2 AND start = 'fork' AND t_ready IS NOT NULL AND $c")
		got=$(awk '/^fork p50 \(ms\)/ { print $4 }' "$T/out")
		[ "$n" -gt 0 ] && [ "$got" = "$n" ] || fail "--where $w: fork p50 over $got requests, SQL $n"
	done
	grep -q '^real: 2 run(s), [0-9]* requests; sim: 2 run(s), [0-9]* requests (started after a template fetch only)$' "$T/out" ||
		fail "--where fetched: not said: $(head -1 "$T/out")"
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 3-4 --where local --app a >"$T/out" 2>&1
	head -1 "$T/out" | grep -q '(of app a, started on the requesting node only)$' ||
		fail "--app and --where: not said: $(head -1 "$T/out")"
	# a side with no such instance: exit 2, naming it
	cp "$T/v.db" "$T/nf.db"
	sqlite3 "$T/nf.db" "UPDATE instances SET template_fetched = 0 WHERE run <= 2" || fail "sqlite3 update"
	"$UKF" validate --from-db "$T/nf.db" --real-runs 1-2 --sim-runs 3-4 --where fetched >"$T/out" 2>&1
	[ $? -eq 2 ] && grep -q "the real side's 2 run(s) have no instance started after a template fetch" "$T/out" ||
		fail "no fetched instance on the real side: $(cat "$T/out")"
	;;
plot)
	command -v gnuplot >/dev/null || { echo "SKIP: no gnuplot"; exit 77; }
	mkdb
	"$UKF" validate --from-db "$T/v.db" --real-runs 1-2 --sim-runs 5-6 --plot "$T/p" >"$T/out" 2>&1
	[ $? -eq 1 ] || fail "expected exit 1 (the difference) with --plot"
	for k in cold template fork; do
		for x in png svg; do
			[ -s "$T/p/validate-cdf-$k.$x" ] || fail "no validate-cdf-$k.$x"
		done
	done
	# the data: two blocks per kind, each curve ends at its ready fraction <= 1
	[ "$(grep -c '^# real' "$T/p/validate-cdf.dat")" -eq 3 ] || fail "expected 3 real blocks"
	awk '!/^#/ && NF == 2 && ($2 > 1 || $2 <= 0) { bad = 1 } END { exit bad }' \
		"$T/p/validate-cdf.dat" || fail "a CDF value outside (0, 1]"
	# a later comparison without fork starts (--metrics does not matter:
	# runs of a one-node, no-fork scenario) leaves no fork plot behind
	printf '%s\n' 'cluster { nodes = 1, vcpus = 4, memory = "1G" }' \
		'run { duration = "1s" }' 'app("w", "mem=32M init=20ms work=5ms")' \
		'bursts { app = "w", every = "300ms", size = 2 }' >"$T/nofork.lua"
	"$UKF" run "$T/nofork.lua" --reps 2 --db "$T/nf.db" --quiet >/dev/null 2>&1 || fail "nofork run"
	"$UKF" validate --from-db "$T/nf.db" --real-runs 1-1 --sim-runs 2-2 --plot "$T/p" >"$T/out" 2>&1
	[ -s "$T/p/validate-cdf-cold.png" ] || fail "no cold plot for the second comparison"
	[ -e "$T/p/validate-cdf-fork.png" ] && fail "the first comparison's fork plot left behind"
	;;
*)
	echo "unknown case $CASE"
	exit 2
	;;
esac
echo "ok: $CASE"
exit 0
