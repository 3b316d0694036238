#!/usr/bin/env bash
# backup_roundtrip.sh STRATA STRATAD
# Backup, verify and restore through the strata CLI and the real stratad on
# 127.0.0.1:0 (fresh data directory, --port-file, --admin-token-file):
#   - data of every type, escapes in every position (spaces, commas, equals signs,
#     quotes, backslashes, newlines, unicode), sparse fields (NULLs), upserts, and
#     deletes (DELETE through `strata query`, a Flight SQL update), including a column
#     and a table left without any value;
#   - backup; verify on the live database; restore into another database; both
#     databases queried in full: identical; verify against the restored database;
#   - verify fails, naming the difference, after a write to the live database, a
#     flipped byte in a backup file, an edited manifest (alone, or with SHA256SUMS
#     edited to match);
#   - errors: unknown database, unwritable and non-empty directories, restore into a
#     non-empty database, a corrupt gzip file, a missing file, no manifest; nothing is
#     written by a restore of a damaged backup.
# Prints "N passed, M failed".
set -u
strata=$1
stratad=$2
work=$(mktemp -d)
srv_pid=
cleanup() {
    [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
    chmod -R u+w "$work" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*" >&2
}

start() {
    rm -f "$work/port"
    "$stratad" --data-dir "$work/data" --listen 127.0.0.1:0 --port-file "$work/port" \
        --admin-token-file "$work/token" >>"$work/stratad.log" 2>&1 </dev/null &
    srv_pid=$!
    for _ in $(seq 300); do [ -s "$work/port" ] && break; sleep 0.1; done
    if [ ! -s "$work/port" ]; then
        echo "stratad did not start:" >&2
        cat "$work/stratad.log" >&2
        exit 1
    fi
    export STRATA_HOST=http://127.0.0.1:$(cat "$work/port")
}
stop() {
    kill -TERM "$srv_pid"
    wait "$srv_pid"
    local code=$?
    srv_pid=
    [ "$code" = 0 ] && ok || bad "stratad exited $code on SIGTERM"
    # a sanitizer report or an alert in the server's log fails the test
    if grep -E "runtime error|AddressSanitizer|LeakSanitizer|level=alert" "$work/stratad.log" >&2; then
        bad "stratad logged a sanitizer report or an alert"
    fi
}

unset STRATA_TOKEN STRATA_DATABASE STRATA_TLS_CA
export HOME=$work
start
S=("$strata" --token-file "$work/token")

run() {
    "$@" >"$work/out" 2>"$work/err" </dev/null
    rc=$?
    out=$(cat "$work/out")
    err=$(cat "$work/err")
}
expect_rc() { [ "$rc" = "$1" ] && ok || bad "$2: exit $rc, want $1 (stdout: $out) (stderr: $err)"; }
expect_out_has() { case "$out" in *"$1"*) ok ;; *) bad "$2: stdout lacks '$1': $out" ;; esac; }
expect_err_has() { case "$err" in *"$1"*) ok ;; *) bad "$2: stderr lacks '$1': $err" ;; esac; }

# ---- the data --------------------------------------------------------------------------
# cpu: every field type, sparse fields, a NULL tag, upserts (a merged field, an
# overwritten value), extremes; rows of host=del are deleted below, and with them every
# value of only_del.
cat >"$work/cpu.lp" <<'EOF'
cpu,host=a,region=eu\ west usage=12.5,count=1i,big=18446744073709551615u,ok=true,msg="hello" 1000
cpu,host=b usage=-0.25,count=-9223372036854775808i 1000
cpu,host=a,region=eu\ west usage=13.5 2000
cpu,host=a,region=eu\ west msg="merged by an upsert" 2000
cpu,host=a,region=eu\ west usage=99 1000
cpu,host=c,region=us ok=false 3000
cpu,host=c,region=us usage=1e-300,count=7i,big=0u 4000
cpu,host=d usage=5e-324 5000
cpu,host=d usage=1.7976931348623157e308,msg="" -5000
cpu,host=d usage=0.30000000000000004 9223372036854775806
cpu,host=del usage=1,only_del=1i 7000
cpu,host=del usage=2,only_del=2i 8000
EOF
# a measurement, tag keys and values, field keys and string values with every escape
printf '%s\n' \
    'w"eird\,\ m=e\ ü,t\ a\,g\=k=v\ a\,l\=ue\\x"ü f\ i\,e\=ld="str \"q\" \\ back, = ✓' \
    'second line	tab",n=1i -1000000000' \
    'w"eird\,\ m=e\ ü,t\ a\,g\=k=x\\y f\ i\,e\=ld="",n=2i 0' \
    'w"eird\,\ m=e\ ü,t\ a\,g\=k=\=start,k2=ü n=3i 1' \
    'w"eird\,\ m=e\ ü,k2=#x f\ i\,e\=ld="\\",n=4i 2' >"$work/weird.lp"
# big: 6000 rows over 12 series, read in windows and restored in many requests
awk 'BEGIN { for (i = 0; i < 6000; i++) {
    f = (i % 7 == 0) ? "" : sprintf("v=%di,", i);
    printf "big,host=h%02d,dc=d%d %sx=%.6f,s=\"r%d\" %.0f\n", i % 12, i % 3, f, i / 7.0, i, 1700000000000 + i * 1000003 }
}' >"$work/big.lp"
printf 'gone,host=a v=1i 1\ngone,host=b v=2i 2\n' >"$work/gone.lp"
for f in cpu weird big gone; do
    run "${S[@]}" write -d src "$work/$f.lp"
    expect_rc 0 "write $f"
done

# ---- deletes, through the server (Flight SQL updates) -----------------------------------
run "${S[@]}" query -d src -f csv "DELETE FROM cpu WHERE host = 'del'"
expect_rc 0 "delete host=del"
[ "$out" = "$(printf 'rows_deleted\r\n2\r')" ] && ok || bad "deleted rows: $out"
run "${S[@]}" query -d src -f csv "DELETE FROM gone"
expect_rc 0 "delete all of gone"
run "${S[@]}" query -d src -f csv "SELECT count(*) AS n, count(only_del) AS d FROM cpu"
[ "$out" = "$(printf 'n,d\r\n8,0\r')" ] && ok || bad "cpu after the deletes: $out"

# ---- backup and verify ----------------------------------------------------------------------
B=$work/B
run "${S[@]}" backup -d src -o "$B" --rows-per-query 1000
expect_rc 0 "backup"
expect_out_has "backed up 4 tables (6012 rows)" "backup summary"
for f in cpu.lp.gz big.lp.gz gone.lp.gz manifest.json SHA256SUMS; do
    [ -f "$B/$f" ] && ok || bad "backup lacks $f: $(ls "$B")"
done
[ "$(ls "$B" | wc -l)" = 6 ] && ok || bad "backup files: $(ls -a "$B")"
[ "$(stat -c %a "$B/manifest.json")" = 600 ] && [ "$(stat -c %a "$B")" = 700 ] && ok ||
    bad "modes: $(stat -c '%a %n' "$B" "$B"/*)"
if command -v sha256sum >/dev/null; then
    (cd "$B" && sha256sum -c --quiet SHA256SUMS) && ok || bad "sha256sum -c SHA256SUMS"
fi
grep -q '"rows": 0' "$B/manifest.json" && ok || bad "the empty table in the manifest"
grep -Eq '"server_version": "[0-9]+\.[0-9]+\.[0-9]+"' "$B/manifest.json" && ok ||
    bad "the server's version (WhoAmI) in the manifest"
run "${S[@]}" backup verify "$B"
expect_rc 0 "verify the live database"
expect_out_has "matches database \"src\": 4 tables, 6012 rows" "verify summary"
run "${S[@]}" backup verify "$B" --offline
expect_rc 0 "verify offline"
# the same data gives the same bytes
run "${S[@]}" backup -d src -o "$work/Bagain" -q
expect_rc 0 "second backup"
cmp -s "$B/big.lp.gz" "$work/Bagain/big.lp.gz" && cmp -s "$B/cpu.lp.gz" "$work/Bagain/cpu.lp.gz" &&
    ok || bad "a second backup of the same data differs"
# the canonical text
zcat "$B/cpu.lp.gz" >"$work/cpu.txt"
grep -qx 'cpu,host=a,region=eu\\ west big=18446744073709551615u,count=1i,msg="hello",ok=true,usage=99 1000' \
    "$work/cpu.txt" && ok || bad "canonical cpu line: $(cat "$work/cpu.txt")"
grep -qx 'cpu,host=a,region=eu\\ west msg="merged by an upsert",usage=13.5 2000' "$work/cpu.txt" &&
    ok || bad "upsert in the backup: $(cat "$work/cpu.txt")"
grep -q 'host=del' "$work/cpu.txt" && bad "deleted rows in the backup" || ok

# ---- restore, and compare everything -----------------------------------------------------------
run "${S[@]}" restore "$B" -d dst --chunk-size 4k
expect_rc 0 "restore"
expect_out_has "restored 3 tables (6012 rows)" "restore summary"
expect_out_has "1 table without rows" "restore notes the empty table"
# every column that holds a value, in both databases, every row
compare_table() {
    local t=$1 order=$2 cols
    cols=$("${S[@]}" query -d dst -f jsonl \
        "SELECT column_name FROM information_schema.columns WHERE table_name = '${t//\'/\'\'}' ORDER BY column_name" |
        python3 -c 'import sys, json
print(",".join("\"%s\"" % json.loads(l)["column_name"].replace("\"", "\"\"") for l in sys.stdin))')
    [ -n "$cols" ] || { bad "no columns for $t"; return; }
    local q="SELECT $cols FROM \"${t//\"/\"\"}\" ORDER BY $order"
    "${S[@]}" query -d src -f jsonl "$q" >"$work/a.jsonl" 2>"$work/a.err" || bad "query src $t: $(cat "$work/a.err")"
    "${S[@]}" query -d dst -f jsonl "$q" >"$work/b.jsonl" 2>"$work/b.err" || bad "query dst $t: $(cat "$work/b.err")"
    if cmp -s "$work/a.jsonl" "$work/b.jsonl" && [ "$(head -c1 "$work/a.jsonl")" = "{" ]; then ok; else
        bad "table $t differs after the restore: $(diff "$work/a.jsonl" "$work/b.jsonl" | head -5)"
    fi
}
compare_table cpu "time, host, region NULLS FIRST"
compare_table 'w"eird, m=e ü' 'time, "t a,g=k" NULLS FIRST, k2 NULLS FIRST'
[ "$(wc -l <"$work/b.jsonl")" = 4 ] && ok || bad "weird rows: $(cat "$work/b.jsonl")"
compare_table big "time, host, dc"
[ "$(wc -l <"$work/b.jsonl")" = 6000 ] && ok || bad "big rows: $(wc -l <"$work/b.jsonl")"
run "${S[@]}" query -d dst -f csv "SELECT count(*) AS n FROM gone"
expect_rc 4 "an empty table is not recreated"
run "${S[@]}" query -d dst -f csv "SELECT count(only_del) FROM cpu"
expect_rc 4 "a column without values is not recreated"
run "${S[@]}" query -d dst -f jsonl 'SELECT "f i,e=ld", n FROM "w""eird, m=e ü" ORDER BY n'
expect_out_has '{"f i,e=ld":"str \"q\" \\ back, = ✓\nsecond line\ttab","n":1}' "escapes survive"
expect_out_has '{"f i,e=ld":"\\","n":4}' "a string that is one backslash"
run "${S[@]}" backup verify "$B" -d dst
expect_rc 0 "verify against the restored database"
run "${S[@]}" restore "$work/Bagain" -d dst2 --verify -q
expect_rc 0 "restore --verify"

# ---- verify catches changes ------------------------------------------------------------------
echo 'cpu,host=z usage=1 9000' | "${S[@]}" write -d src -q -
echo 'cpu,host=c,region=us count=8i 4000' | "${S[@]}" write -d src -q -
run "${S[@]}" backup verify "$B"
expect_rc 12 "verify after writes"
expect_out_has "cpu: row: only in the database: cpu,host=z usage=1 9000" "the new row"
expect_out_has "cpu: row: values differ: backup cpu,host=c,region=us big=0u,count=7i,usage=1e-300 4000, database cpu,host=c,region=us big=0u,count=8i,usage=1e-300 4000" "the changed row"
expect_out_has "cpu: rows: the database has 9 rows, the backup 8" "row counts"
expect_out_has "cpu: content: the content digest" "content digest"
expect_err_has "differences found" "summary on stderr"
run "${S[@]}" backup verify "$B" -d dst
expect_rc 0 "the restored database is unchanged"

# a flipped byte in a table file
cp -r "$B" "$work/Bflip"
f=$work/Bflip/big.lp.gz
size=$(stat -c %s "$f")
off=$((size / 2))
byte=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
printf "$(printf '\\%03o' $(((byte + 1) % 256)))" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
run "${S[@]}" backup verify "$work/Bflip" -d dst
expect_rc 12 "verify a flipped byte"
expect_out_has "big: file: big.lp.gz: the file changed after the backup was written" "names the file"
run "${S[@]}" restore "$work/Bflip" -d flipped
expect_rc 12 "restore of a damaged backup"
expect_err_has "nothing was written" "restore refuses before writing"
expect_err_has "big.lp.gz" "restore names the file"
run "${S[@]}" query -d flipped "SHOW TABLES"
expect_rc 6 "no database was created"

# an edited manifest
cp -r "$B" "$work/Bman"
sed -i 's/"rows": 6000/"rows": 6001/' "$work/Bman/manifest.json"
run "${S[@]}" backup verify "$work/Bman" -d dst
expect_rc 12 "verify an edited manifest"
expect_out_has "manifest.json was changed after the backup was written" "manifest digest"
expect_out_has "big.lp.gz holds 6000 rows, the manifest says 6001" "rows against the file"
expect_out_has "big: rows: the database has 6000 rows, the backup 6001" "rows against the database"
# ... and SHA256SUMS edited to match: the files still tell
(cd "$work/Bman" && sha=$(sha256sum manifest.json | cut -d' ' -f1) &&
    sed -i "s/^[0-9a-f]*  manifest.json\$/$sha  manifest.json/" SHA256SUMS)
run "${S[@]}" backup verify "$work/Bman" -d dst
expect_rc 12 "verify a consistently edited manifest"
expect_out_has "big.lp.gz holds 6000 rows, the manifest says 6001" "the file still tells"
case "$out" in *"manifest.json was changed"*) bad "SHA256SUMS matched, yet reported" ;; *) ok ;; esac

# ---- errors ------------------------------------------------------------------------------------
run "${S[@]}" backup -d nosuchdb -o "$work/X"
expect_rc 6 "backup of an unknown database"
expect_err_has 'database "nosuchdb" does not exist' "unknown database message"
[ ! -e "$work/X" ] && ok || bad "an unknown database left a directory"
run "${S[@]}" backup -d src -o "$work/X" -t nosuchtable
expect_rc 6 "backup of an unknown table"
touch "$work/afile"
run "${S[@]}" backup -d src -o "$work/afile/B"
expect_rc 11 "unwritable directory (under a file)"
if [ "$(id -u)" != 0 ]; then
    mkdir "$work/ro" && chmod 500 "$work/ro"
    run "${S[@]}" backup -d src -o "$work/ro"
    expect_rc 11 "unwritable directory (mode 0500)"
    [ -z "$(ls -A "$work/ro")" ] && ok || bad "files left in the unwritable directory"
fi
run "${S[@]}" backup -d src -o "$B"
expect_rc 7 "non-empty directory"
expect_err_has "is not empty" "non-empty message"
expect_err_has "--force" "non-empty hint"
run "${S[@]}" backup -d src -o "$B" --force -q
expect_rc 0 "--force"
run "${S[@]}" backup verify "$B" -q
expect_rc 0 "verify after --force"
run "${S[@]}" restore "$B" -d dst
expect_rc 19 "restore into a non-empty database"
expect_err_has 'database "dst" is not empty' "non-empty database message"
# a corrupt gzip file (the manifest's digests made to match, so only gzip can tell)
cp -r "$B" "$work/Bgz"
head -c 40 "$B/big.lp.gz" >"$work/Bgz/big.lp.gz"
run "${S[@]}" backup verify "$work/Bgz" --offline
expect_rc 12 "verify a truncated gzip file"
expect_out_has "big.lp.gz" "names the truncated file"
expect_out_has "gzip" "says gzip"
run "${S[@]}" restore "$work/Bgz" -d gz
expect_rc 12 "restore a truncated gzip file"
# a missing file
cp -r "$B" "$work/Bmiss"
rm "$work/Bmiss/cpu.lp.gz"
run "${S[@]}" backup verify "$work/Bmiss"
expect_rc 12 "verify with a missing file"
expect_out_has "cpu: file:" "names the missing file"
expect_out_has "cpu.lp.gz" "missing file name"
run "${S[@]}" restore "$work/Bmiss" -d miss
expect_rc 12 "restore with a missing file"
run "${S[@]}" query -d miss "SHOW TABLES"
expect_rc 6 "nothing restored from a backup with a missing file"
# not a backup
mkdir "$work/empty"
run "${S[@]}" backup verify "$work/empty"
expect_rc 11 "verify a directory without a manifest"
expect_err_has "no manifest.json" "no manifest message"
run "${S[@]}" restore "$work/nonexistent" -d z
expect_rc 11 "restore from a missing directory"
# a --table selection: extra live tables are no difference
run "${S[@]}" backup -d src -o "$work/Bsel" -t big -q
expect_rc 0 "backup of one table"
grep -q '"all_tables": false' "$work/Bsel/manifest.json" && ok || bad "all_tables false"
run "${S[@]}" backup verify "$work/Bsel" -q
expect_rc 0 "verify one table against a database with more"
# a --table selection on restore and verify
run "${S[@]}" restore "$B" -d onlybig -t big -q
expect_rc 0 "restore of one table"
run "${S[@]}" query -d onlybig -f csv "SELECT count(*) AS n FROM big"
[ "$out" = "$(printf 'n\r\n6000\r')" ] && ok || bad "one table restored: $out"
run "${S[@]}" query -d onlybig -f csv "SELECT count(*) AS n FROM cpu"
expect_rc 4 "the other tables were not restored"
run "${S[@]}" backup verify "$B" -d onlybig -t big -q
expect_rc 0 "verify one table of the backup"
run "${S[@]}" backup verify "$B" -t nosuchtable
expect_rc 6 "verify a table the backup lacks"
# usage errors
run "${S[@]}" backup -d src -o "$work/Y" --compression 0
expect_rc 2 "bad --compression"
run "${S[@]}" restore "$B" -d y --chunk-size 1
expect_rc 2 "bad --chunk-size"
run "${S[@]}" backup -d src
expect_rc 2 "backup without --out"
run "${S[@]}" backup verify
expect_rc 2 "verify without a directory"
run "${S[@]}" restore
expect_rc 2 "restore without a directory"

stop
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
