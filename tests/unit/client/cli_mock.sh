#!/usr/bin/env bash
# cli_mock.sh STRATA_BIN MOCK_SERVER_BIN
# The `strata` CLI end to end against the scripted server (mock_server.c):
# every output format byte for byte, exit codes per error class, errors on
# stderr, chunked writes and their line numbers, token secrets on stdout,
# parameters, scripts on stdin, environment variables and --help for every
# command. Prints "N passed, M failed"; exits non-zero on any failure.
set -u
strata=$1
mock=$2
work=$(mktemp -d)
trap 'kill "$mock_pid" 2>/dev/null; wait "$mock_pid" 2>/dev/null; rm -rf "$work"' EXIT

STRATA_MOCK_LOG=$work/mock.log "$mock" --port-file "$work/port" &
mock_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")
export STRATA_HOST=http://127.0.0.1:$port STRATA_TOKEN=good-token
unset STRATA_DATABASE STRATA_TLS_CA
export HOME=$work

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# run CMD...: sets $out, $err, $rc
run() {
    "$@" >"$work/out" 2>"$work/err" </dev/null
    rc=$?
    out=$(cat "$work/out")
    err=$(cat "$work/err")
}
expect_rc() { [ "$rc" = "$1" ] && ok || bad "$2: exit $rc, want $1 (stderr: $err)"; }
expect_out() { [ "$out" = "$1" ] && ok || bad "$2: stdout differs:
--- got
$out
--- want
$1"; }
expect_err_has() { case "$err" in *"$1"*) ok ;; *) bad "$2: stderr lacks '$1': $err" ;; esac; }
expect_out_has() { case "$out" in *"$1"*) ok ;; *) bad "$2: stdout lacks '$1': $out" ;; esac; }

# ---- query output formats -------------------------------------------------------
run "$strata" query -d db "SELECT cli_sample"
expect_rc 0 "table"
expect_out '+--------------------------------+----------+-------+------------------+-------+-----------------------+----------------------+
| time                           | host     | usage | count            | ok    | msg                   | big                  |
+--------------------------------+----------+-------+------------------+-------+-----------------------+----------------------+
| 2023-11-14T22:13:20Z           | server-a |  12.5 |                1 | true  | hello                 | 18446744073709551615 |
| 2023-11-14T22:13:21.5Z         | server-b |       |               -2 | false | line\nbreak, "quoted" |                    0 |
| 2023-11-14T22:13:22.000000123Z | db,"1"   | -0.25 | 9007199254740993 |       | ünï ✓                 |                   42 |
+--------------------------------+----------+-------+------------------+-------+-----------------------+----------------------+
(3 rows)' "table"

run "$strata" query -d db --format csv "SELECT cli_sample"
expect_rc 0 "csv"
printf 'time,host,usage,count,ok,msg,big\r\n2023-11-14T22:13:20Z,server-a,12.5,1,true,hello,18446744073709551615\r\n2023-11-14T22:13:21.5Z,server-b,,-2,false,"line\nbreak, ""quoted""",0\r\n2023-11-14T22:13:22.000000123Z,"db,""1""",-0.25,9007199254740993,,ünï ✓,42\r\n' >"$work/want.csv"
cmp -s "$work/out" "$work/want.csv" && ok || bad "csv bytes differ: $(od -c "$work/out" | head -20)"

run "$strata" query -d db -f json "SELECT cli_sample"
expect_out '[{"time":"2023-11-14T22:13:20Z","host":"server-a","usage":12.5,"count":1,"ok":true,"msg":"hello","big":18446744073709551615},
{"time":"2023-11-14T22:13:21.5Z","host":"server-b","usage":null,"count":-2,"ok":false,"msg":"line\nbreak, \"quoted\"","big":0},
{"time":"2023-11-14T22:13:22.000000123Z","host":"db,\"1\"","usage":-0.25,"count":9007199254740993,"ok":null,"msg":"ünï ✓","big":42}]' "json"
if command -v python3 >/dev/null; then
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d)==3 and d[2]["count"]==9007199254740993 and d[1]["msg"]=="line\nbreak, \"quoted\""' "$work/out" && ok || bad "json does not parse back"
fi

run "$strata" query -d db -f jsonl "SELECT cli_sample"
expect_rc 0 "jsonl"
[ "$(printf '%s\n' "$out" | wc -l)" = 3 ] && ok || bad "jsonl has 3 lines"
if command -v python3 >/dev/null; then
    python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$work/out" && ok || bad "jsonl lines parse"
fi

run "$strata" query -d db -f json "SELECT empty"
expect_out '[]' "empty json"
run "$strata" query -d db "SELECT schema_only"
expect_out_has "(0 rows)" "schema only table"
run "$strata" query -d db -f csv "SELECT all_types"
[ "$(printf '%s\n' "$out" | wc -l)" -ge 301 ] && ok || bad "all_types csv rows"
run "$strata" query -d db -f jsonl "SELECT many"
[ "$(printf '%s\n' "$out" | wc -l)" = 20000 ] && ok || bad "20000 streamed rows"
run "$strata" query -d db --timing -f csv "SELECT cli_sample"
expect_err_has "3 rows in" "timing"

# ---- parameters, stdin scripts ----------------------------------------------------
run "$strata" query -d mydb -f csv -p host=a -p '$min=5' -p f=1.5 -p b=true -p n=null -p 's="42"' -p big=9007199254740993 -p neg=-3 -p word=abc "SELECT echo"
expect_out_has '""params"":{""host"":""a"",""min"":5,""f"":1.5,""b"":true,""n"":null,""s"":""42"",""big"":9007199254740993,""neg"":-3,""word"":""abc""}' "typed params"
run "$strata" query -d db -p oops "SELECT echo"
expect_rc 2 "bad param"
run "$strata" query -d db -p a=1 -p a=2 "SELECT echo"
expect_rc 2 "duplicate param"
printf 'SELECT cli_sample;\n-- a comment; with a semicolon\nSELECT empty;\n' >"$work/script.sql"
"$strata" query -d db -f csv <"$work/script.sql" >"$work/out" 2>"$work/err"
rc=$?
err=$(cat "$work/err")
expect_rc 0 "script on stdin"
[ "$(grep -c 'server-a' "$work/out")" = 1 ] && ok || bad "script ran the first statement"
printf 'SELECT cli_sample;\nSELECT parse_error;\nSELECT cli_sample;\n' >"$work/script.sql"
"$strata" query -d db -f csv <"$work/script.sql" >"$work/out" 2>"$work/err"
rc=$?
err=$(cat "$work/err")
expect_rc 3 "script stops at the first error"
[ "$(grep -c 'server-a' "$work/out")" = 1 ] && ok || bad "script stopped after the error"

# ---- errors and exit codes ----------------------------------------------------------
run "$strata" query -d db "SELECT parse_error"
expect_rc 3 "parse error"
expect_err_has 'strata: syntax error at "parse_error"' "parse error message"
expect_err_has "column 8" "parse error position"
[ -z "$out" ] && ok || bad "nothing on stdout for an error"
run "$strata" query -d db "SELECT nope FROM t"
expect_rc 4 "bind error"
run "$strata" query -d db "SELECT no_code"
expect_rc 9 "permission (no strata-code)"
run "$strata" query -d db -f csv "SELECT midstream_error"
expect_rc 10 "error after rows"
expect_err_has "memory limit" "midstream message"
run "$strata" query -d db "SELECT bad_arrow"
expect_rc 12 "corrupt reply"
run "$strata" --timeout 200ms query -d db "SELECT slow"
expect_rc 14 "deadline"
run "$strata" --token wrong query -d db "SELECT cli_sample"
expect_rc 8 "unauthenticated"
expect_err_has "unknown or expired token" "unauthenticated message"
run env -u STRATA_TOKEN "$strata" query -d db "SELECT cli_sample"
expect_rc 8 "no token"
run "$strata" --host http://127.0.0.1:1 query -d db "SELECT 1"
expect_rc 11 "unreachable"
expect_err_has "cannot reach 127.0.0.1:1" "unreachable message"
run "$strata" --host ftp://x query -d db "SELECT 1"
expect_rc 2 "bad url"
run "$strata" query "SELECT cli_sample"
expect_rc 2 "no database"
run "$strata" query -d db -f xml "SELECT cli_sample"
expect_rc 2 "bad format"
run "$strata" query -d db --bogus "SELECT 1"
expect_rc 2 "unknown option"
expect_err_has "unknown option '--bogus'" "unknown option message"
run "$strata" frobnicate
expect_rc 2 "unknown command"
run "$strata"
expect_rc 2 "no command"

# ---- environment, token file, option placement ----------------------------------------
run env STRATA_DATABASE=db "$strata" query -f csv "SELECT cli_sample"
expect_rc 0 "STRATA_DATABASE"
printf 'good-token\n' >"$work/tok"
run env -u STRATA_TOKEN "$strata" --token-file "$work/tok" query -d db -f csv "SELECT cli_sample"
expect_rc 0 "--token-file"
run "$strata" query --token-file "$work/missing" -d db "SELECT cli_sample"
expect_rc 11 "missing token file"
run env -u STRATA_HOST "$strata" query -d db --host "http://127.0.0.1:$port" -f csv "SELECT cli_sample"
expect_rc 0 "global option after the command"
run env -u STRATA_HOST "$strata" --host "http://127.0.0.1:1" ping
expect_rc 11 "ping unreachable"
run "$strata" ping
expect_rc 0 "ping"

# ---- write -------------------------------------------------------------------------------
: >"$work/mock.log"
for i in $(seq 1 3000); do echo "cpu,host=h$i usage=$i $i"; done >"$work/big.lp"
run "$strata" write -d db --chunk-size 16k --precision s "$work/big.lp"
expect_rc 0 "chunked write"
expect_out_has "wrote 3000 lines" "write summary"
n_req=$(grep -c '^Write db=db precision=4 ' "$work/mock.log")
[ "$n_req" -gt 3 ] && ok || bad "write was chunked ($n_req requests)"
sum=$(sed -n 's/^Write .* lines=\([0-9]*\)$/\1/p' "$work/mock.log" | paste -sd+ | bc)
[ "$sum" = 3000 ] && ok || bad "chunks carry every line once ($sum)"
grep -v 'precision=4' "$work/mock.log" | grep -q '^Write' && bad "precision sent" || ok

{ for i in $(seq 1 500); do echo "cpu v=$i"; done; echo "cpu bad"; for i in $(seq 1 500); do echo "cpu v=$i"; done; } >"$work/one_bad.lp"
run "$strata" write -d db --chunk-size 4k "$work/one_bad.lp"
expect_rc 3 "bad line stops the write"
expect_err_has "one_bad.lp:501:1: expected a field after the tags (cpu bad)" "line number across chunks"
expect_err_has "nothing from $work/one_bad.lp line" "where it stopped"
run "$strata" write -d db --partial --chunk-size 4k "$work/one_bad.lp"
expect_rc 18 "partial write"
expect_out_has "wrote 1000 lines" "partial summary"
expect_err_has ":501:1:" "partial line number"
run "$strata" write -d db --partial -q - <<<"cpu v=1"
printf 'cpu v=1\ncpu v=2\n' | "$strata" write -d db - >"$work/out" 2>"$work/err"
rc=$?
err=$(cat "$work/err")
expect_rc 0 "write from stdin"
grep -q 'no_sync=0' "$work/mock.log" && ok || bad "no_sync default"
printf 'cpu v=1\n' | "$strata" write -d db --no-sync -q >"$work/out" 2>&1
tail -1 "$work/mock.log" | grep -q 'no_sync=1' && ok || bad "--no-sync sent"
[ ! -s "$work/out" ] && ok || bad "--quiet prints nothing"
run "$strata" write -d nodb "$work/big.lp"
expect_rc 6 "write to a missing database"
run "$strata" --token read-only write -d db "$work/big.lp"
expect_rc 9 "write permission"
run "$strata" write -d db "$work/nonexistent.lp"
expect_rc 11 "missing input file"
run "$strata" write -d db --precision hours "$work/big.lp"
expect_rc 2 "bad precision"
run "$strata" write -d db --chunk-size 12 "$work/big.lp"
expect_rc 2 "bad chunk size"
run "$strata" write "$work/big.lp"
expect_rc 2 "write without database"

# ---- admin ---------------------------------------------------------------------------------
run "$strata" database create newdb
expect_rc 0 "database create"
expect_out 'created database "newdb"' "database create output"
run "$strata" database create exists
expect_rc 7 "database exists"
run "$strata" database list -f csv
expect_out "$(printf 'name,created,created_by\r\nalpha,2023-11-14T22:13:20Z,token:op\r\nbeta,2023-11-14T22:13:21Z,\r')" "database list csv"
run "$strata" database delete alpha
expect_rc 2 "delete without --yes off a terminal"
run "$strata" database delete alpha --yes
expect_rc 0 "delete --yes"
run "$strata" database delete missing --yes
expect_rc 6 "delete missing"
run "$strata" --token read-only database list
expect_rc 9 "admin permission"

: >"$work/mock.log"
run "$strata" token create --name ingest --database alpha --read --write --database '*' --read --expires-in 30d --description ci
expect_rc 0 "token create"
expect_out "strata_secret_0123456789" "secret alone on stdout"
expect_err_has 'created database token "ingest" (id tok-1)' "token create note"
grep -q 'CreateToken name=ingest kind=1 perms=2 expires_in=2592000' "$work/mock.log" && ok || bad "token request fields: $(cat "$work/mock.log")"
grep -q '  perm db=\* read=1 write=0' "$work/mock.log" && ok || bad "second permission"
run "$strata" token create --name ops --management --format json
expect_rc 0 "management token json"
expect_out_has '"kind":"management"' "token json kind"
expect_out_has '"token":"strata_secret_0123456789"' "token json secret"
run "$strata" token create --name x --database alpha
expect_rc 2 "token without --read/--write"
run "$strata" token create --name x --read
expect_rc 2 "--read before --database"
run "$strata" token create --name x --management --database alpha --read
expect_rc 2 "management and database"
run "$strata" token create --database a --read
expect_rc 2 "token without name"
run "$strata" token list -f csv
expect_out_has "tok-1,ingest,database,alpha:w" "token list"
run "$strata" token list --all -f jsonl
[ "$(printf '%s\n' "$out" | wc -l)" = 2 ] && ok || bad "token list --all"
run "$strata" token revoke tok-1
expect_out 'revoked token "by-id" (id tok-1)' "token revoke by id"
run "$strata" token revoke --name ingest
expect_rc 0 "token revoke by name"
run "$strata" token revoke nope
expect_rc 6 "revoke unknown"
run "$strata" token revoke
expect_rc 2 "revoke needs a token"
run "$strata" token rotate --name ingest
expect_out "strata_secret_rotated" "rotate secret"

run "$strata" role grant read -d alpha --group analysts
expect_out 'granted role read on "alpha" to group:analysts' "role grant"
run "$strata" role revoke owner -d alpha --user alice
expect_rc 19 "last owner"
run "$strata" role grant god -d alpha --user alice
expect_rc 2 "unknown role"
run "$strata" role grant read --user alice
expect_rc 2 "grant without database"
run "$strata" role grant read -d alpha
expect_rc 2 "grant without principal"
run "$strata" role grant read -d alpha --user a --group b
expect_rc 2 "two principals"
run "$strata" role list -f csv
expect_out_has "alpha,owner,user:alice" "role list"

run "$strata" whoami -f json
expect_out_has '"principal":"token:tok-op"' "whoami json"
run "$strata" whoami
expect_out_has "| groups         | ops" "whoami table"
expect_out_has "| server_version |" "whoami table: the server's version (empty from the mock)"
run "$strata" check read -d alpha
expect_rc 0 "check allowed"
expect_out "allowed: granted (role read on alpha)" "check output"
run "$strata" check write -d alpha --user bob
expect_rc 9 "check denied"
run "$strata" check write
expect_rc 2 "check without database"

run "$strata" audit read
[ "$(printf '%s\n' "$out" | wc -l)" = 5 ] && ok || bad "audit read pages through all"
run "$strata" audit read --after 3
[ "$(printf '%s\n' "$out" | wc -l)" = 2 ] && ok || bad "audit read --after"
run "$strata" audit read --limit 2
[ "$(printf '%s\n' "$out" | wc -l)" = 2 ] && ok || bad "audit read --limit"
run "$strata" audit read --since 2024-13-01T00:00:00Z
expect_rc 2 "bad time"
run "$strata" audit verify "$work/missing.log"
[ "$rc" = 11 ] || [ "$rc" = 16 ] && ok || bad "verify missing file: $rc"

# ---- data protection: verify, admin rotate-key, DELETE as an update ---------------------------
run "$strata" verify -d damaged
expect_rc 12 "verify with a problem"
expect_out "chunk db/1/1/0000000000000003.chk offset 176 (database damaged): authentication tag mismatch (damaged or tampered) [ECORRUPT, quarantined]" "verify problem line"
expect_err_has "verified damaged: 2 files, 9 blocks, 4.0 KiB in 0.00 s: 1 problem (1 row group and 0 chunks newly quarantined)" "verify summary"
run "$strata" verify -d damaged -f csv -q
expect_out "$(printf 'kind,file,database,offset,code,reason,quarantined,known\r\nchunk,db/1/1/0000000000000003.chk,damaged,176,ECORRUPT,authentication tag mismatch (damaged or tampered),true,false\r')" "verify csv"
[ -z "$err" ] && ok || bad "verify -q printed: $err"
run env STRATA_DATABASE=damaged "$strata" verify
expect_rc 0 "STRATA_DATABASE does not narrow a scrub"
expect_err_has "verified everything: " "verify everything"
run "$strata" verify -d cut
expect_rc 12 "a stream without a summary"
expect_err_has "without its summary" "verify cut"
run "$strata" verify -d missing
expect_rc 6 "verify of a missing database"
run "$strata" verify -f xml
expect_rc 2 "verify bad format"
run "$strata" verify extra
expect_rc 2 "verify takes no argument"
run "$strata" --token read-only verify -d damaged
expect_rc 9 "verify denied"
run "$strata" admin rotate-key
expect_rc 0 "rotate-key"
expect_out "rotated: 4 files, 3 data keys rewrapped under master key 75994c6f8af9575c (1 already current, 0 skipped)
no file needs the previous key any more (aff116fdf5636f26): restart stratad without --previous-master-key-file, then retire it" "rotate-key output"
run "$strata" admin
expect_rc 2 "admin without a subcommand"
run "$strata" admin rotate
expect_rc 2 "admin unknown subcommand"
run "$strata" query -d alpha -f csv "/* a comment */
delete FROM cpu"
expect_rc 0 "DELETE through query"
expect_out "$(printf 'rows_deleted\r\n7\r')" "rows_deleted"
run "$strata" query -d alpha "DELETE FROM cpu WHERE nosuch = 1"
expect_rc 4 "DELETE error"
expect_err_has "column \"nosuch\" does not exist" "DELETE error message"
expect_err_has "column 21" "DELETE error position"

# ---- help ------------------------------------------------------------------------------------
for cmd in query write database token role whoami check audit ping verify admin; do
    run "$strata" "$cmd" --help
    expect_rc 0 "$cmd --help"
    expect_out_has "usage: strata $cmd" "$cmd --help text"
    run "$strata" help "$cmd"
    expect_out_has "usage: strata $cmd" "help $cmd"
done
run "$strata" --help
expect_out_has "Commands:" "global help"
run "$strata" version
expect_out_has "strata 0." "version"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
