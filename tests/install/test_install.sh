#!/usr/bin/env bash
# test_install.sh -- ctest "install" (issue #8): the installed SDK, used the
# way a third party uses it.
#
#   test_install.sh BUILD_DIR SOURCE_DIR CMAKE C_COMPILER LIBDIR [SANITIZE]
#
#  1. `cmake --install BUILD_DIR --prefix DIR` (a prefix given only at
#     install time), then the prefix is MOVED: everything below must work
#     from where the files are, with no environment variable.
#  2. The installed `evtrack plugins` lists the six built-in plugins, all
#     from the moved prefix.
#  3. sdk/examples/csv-sink, copied out of the source tree, is configured
#     with -DCMAKE_PREFIX_PATH=<prefix> only and built without a warning;
#     the sink exports exactly evt_sink_entry_v1. It is also built with
#     `pkg-config evtrack-sdk`, and an object using the HTTP SDK links with
#     `pkg-config evtrack-sdk-http` and with find_package(evtrack
#     COMPONENTS sdk_http), neither asking for libcurl.
#  4. tests/install/embed.c is compiled with `pkg-config --cflags --libs
#     evtrack`; it runs a config that loads the CSV sink through "path"
#     and the installed local-json by name. The CSV must equal
#     tests/install/expected.csv byte for byte; a second run appends (after
#     removing a torn last row); a file with another header is refused; a
#     batch that fails part way (file size limit) is cut back out of the
#     file, retried, then dead-lettered with the sink still enabled.
#  5. The installed `evtrack check-config`, `plugins -c` and `demo` run the
#     CSV sink too.
#
# Skipped (exit 77) in a sanitizer build: its static SDK libraries hold
# sanitizer calls, so an out-of-tree sink or program would need the same
# -fsanitize flags and runtime (docs/WRITING_A_SINK.md, "Testing").
# shellcheck disable=SC2086 # pkg-config flags are word-split on purpose
set -euo pipefail
build=$1 src=$2 cmake=$3 cc=$4 libdir=$5 sanitize=${6:-}
if [ -n "$sanitize" ]; then
  echo "skipped: built with EVT_SANITIZE=$sanitize; the installed SDK" \
       "would need -fsanitize=$sanitize in every out-of-tree build"
  exit 77
fi
unset EVTRACK_PLUGIN_PATH LD_LIBRARY_PATH CMAKE_PREFIX_PATH PKG_CONFIG_PATH
export EVTRACK_LOG=warn
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evt-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tmp=$(cd "$tmp" && pwd -P) # plugin paths are printed canonical
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "== $*"; }

step "install to a prefix given at install time, then move it"
"$cmake" --install "$build" --prefix "$tmp/staged" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "cmake --install (is the build up to date?)"; }
mv "$tmp/staged" "$tmp/prefix"
P=$tmp/prefix
for f in bin/evtrack include/evtrack/evtrack.h include/evtrack/sink.h \
         include/evtrack/sdk/event_view.h include/evtrack/sdk/http.h \
         "$libdir/libevtrack.so" "$libdir/libevt_sdk.a" \
         "$libdir/libevt_sdk_http.a" "$libdir/pkgconfig/evtrack.pc" \
         "$libdir/pkgconfig/evtrack-sdk.pc" \
         "$libdir/pkgconfig/evtrack-sdk-http.pc" \
         "$libdir/cmake/evtrack/evtrackConfig.cmake" \
         "$libdir/cmake/evtrack/evtrackConfigVersion.cmake"; do
  [ -e "$P/$f" ] || fail "not installed: $f"
done
if grep -rqF "$tmp/staged" "$P/$libdir/pkgconfig" "$P/$libdir/cmake"; then
  fail "an installed pkg-config or CMake file names the install prefix"
fi

step "the installed evtrack finds the installed plugins"
"$P/bin/evtrack" plugins >"$tmp/plugins.out"
cat "$tmp/plugins.out"
n=0
for name in jsonl local-json markdown-table tensorboard-events hf-hub wandb \
            $(cd "$P/$libdir/evtrack/plugins" && ls | sed -n 's/^evtrack-sink-\(.*\)\.so$/\1/p'); do
  grep -qE "^$name +[^ ]+ +1\.[0-9]+ +$P/$libdir/evtrack/plugins/evtrack-sink-$name\.so\$" \
    "$tmp/plugins.out" || fail "evtrack plugins: no $name from $P"
  n=$((n + 1))
done
# Each installed plugin once (the six built-ins were counted twice above),
# nothing from anywhere else.
[ "$(grep -c "^[a-z]" "$tmp/plugins.out")" = $((n - 6)) ] ||
  fail "evtrack plugins: expected exactly the installed plugins"
if grep -q "refused" "$tmp/plugins.out"; then fail "evtrack plugins: refused"; fi

step "build sdk/examples/csv-sink out of tree, CMAKE_PREFIX_PATH only"
cp -R "$src/sdk/examples/csv-sink" "$tmp/csv-sink"
CC=$cc "$cmake" -S "$tmp/csv-sink" -B "$tmp/csv-build" \
  -DCMAKE_PREFIX_PATH="$P" >"$tmp/csv-configure.log" 2>&1 ||
  { cat "$tmp/csv-configure.log"; fail "csv-sink: configure"; }
"$cmake" --build "$tmp/csv-build" >"$tmp/csv-build.log" 2>&1 ||
  { cat "$tmp/csv-build.log"; fail "csv-sink: build"; }
if grep -i "warning" "$tmp/csv-configure.log" "$tmp/csv-build.log"; then
  fail "csv-sink: warnings (above)"
fi
so=$tmp/csv-build/evtrack-sink-csv.so
syms=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}')
[ "$syms" = evt_sink_entry_v1 ] || fail "csv sink exports: $syms"

step "pkg-config: evtrack-sdk, evtrack-sdk-http, evtrack"
export PKG_CONFIG_PATH=$P/$libdir/pkgconfig
sdk_flags=$(pkg-config --cflags --libs evtrack-sdk)
"$cc" -std=c11 -Wall -Wextra -Werror -fPIC -fvisibility=hidden -shared \
  -Wl,--no-undefined "$tmp/csv-sink/csv_sink.c" $sdk_flags \
  -o "$tmp/evtrack-sink-csv-pc.so"
printf '#include <evtrack/sdk/http.h>\nint f(void);\n%s\n' \
  'int f(void) { return evt_http_global_init(); }' >"$tmp/http_use.c"
http_flags=$(pkg-config --cflags --libs evtrack-sdk-http)
# libcurl is opened at the first request, never linked (sdk/src/curl_lazy.c)
case " $(pkg-config --print-requires evtrack-sdk-http | tr '\n' ' ') $http_flags " in
*curl*) fail "evtrack-sdk-http asks for libcurl: $http_flags" ;;
esac
"$cc" -std=c11 -Wall -Wextra -Werror -fPIC -shared -Wl,--no-undefined \
  "$tmp/http_use.c" $http_flags -o "$tmp/http_use.so"
mkdir -p "$tmp/http-cmake"
cp "$tmp/http_use.c" "$tmp/http-cmake/"
cat >"$tmp/http-cmake/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(http_use C)
find_package(evtrack REQUIRED COMPONENTS sdk_http)
add_library(http_use SHARED http_use.c)
target_link_libraries(http_use PRIVATE evtrack::sdk_http)
target_link_options(http_use PRIVATE -Wl,--no-undefined)
EOF
CC=$cc "$cmake" -S "$tmp/http-cmake" -B "$tmp/http-cmake/build" \
  -DCMAKE_PREFIX_PATH="$P" >"$tmp/http-cmake.log" 2>&1 &&
  "$cmake" --build "$tmp/http-cmake/build" >>"$tmp/http-cmake.log" 2>&1 ||
  { cat "$tmp/http-cmake.log"; fail "find_package(evtrack COMPONENTS sdk_http)"; }
embed_flags=$(pkg-config --cflags --libs evtrack)
rpath=$(pkg-config --variable=libdir evtrack)
"$cc" -std=c11 -Wall -Wextra -Werror "$src/tests/install/embed.c" \
  $embed_flags -Wl,-rpath,"$rpath" -o "$tmp/embed"

step "embed: the CSV sink through \"path\", local-json by name"
write_config() { # FILE RUN_ID CSV_FILE [MORE KEYS OF THE CSV SINK]
  cat >"$1" <<EOF
{
  "version": 1,
  "run_id": "$2",
  "output_dir": "out",
  "sinks": [
    {"name": "csv", "path": "$so", ${4:-} "config": {"file": "$3"}},
    {"plugin": "local-json"}
  ]
}
EOF
}
csv=$tmp/out/scores/results.csv
write_config "$tmp/run1.json" embed-run scores/results.csv
(cd "$tmp" && ./embed run1.json >embed1.out 2>embed1.err) ||
  { cat "$tmp/embed1.out" "$tmp/embed1.err"; fail "embed run 1"; }
cat "$tmp/embed1.out" "$tmp/embed1.err"
grep -qx "csv written=8 dead=0 enabled=1" "$tmp/embed1.out" ||
  fail "embed run 1: csv counters"
grep -qx "local-json written=[1-9][0-9]* dead=0 enabled=1" "$tmp/embed1.out" ||
  fail "embed run 1: local-json (found by name) did not write"
grep -qF 'sink "csv": result event seq 7 skipped: field "value" is a map, not a string or a number' \
  "$tmp/embed1.err" || fail "embed run 1: no warning for the map value"
ls "$tmp"/out/org__tiny/*_results.json >/dev/null || fail "no local-json file"
cmp "$src/tests/install/expected.csv" "$csv" ||
  { cat -A "$csv"; fail "CSV bytes differ from tests/install/expected.csv"; }

step "a second run appends, after cutting a torn last row"
printf 'embed-run,99,resu' >>"$csv"
write_config "$tmp/run2.json" embed-run-2 scores/results.csv
(cd "$tmp" && ./embed run2.json >embed2.out 2>embed2.err) ||
  { cat "$tmp/embed2.out" "$tmp/embed2.err"; fail "embed run 2"; }
grep -qF "results.csv: removed a partial last row (17 bytes) left by an earlier crash" \
  "$tmp/embed2.err" || { cat "$tmp/embed2.err"; fail "no torn-row warning"; }
{ cat "$src/tests/install/expected.csv"
  tail -n +2 "$src/tests/install/expected.csv" | sed 's/^embed-run,/embed-run-2,/'
} >"$tmp/expected2.csv"
cmp "$tmp/expected2.csv" "$csv" || { cat -A "$csv"; fail "appended CSV"; }

step "a file with another header is refused, with a clear error"
mkdir -p "$tmp/out"
printf 'a,b\n1,2\n' >"$tmp/out/other.csv"
write_config "$tmp/run3.json" embed-run-3 other.csv
(cd "$tmp" && ./embed run3.json >embed3.out 2>embed3.err) || true
grep -qF "other.csv: the file exists and its first line is not this sink's header" \
  "$tmp/embed3.err" || { cat "$tmp/embed3.err"; fail "no header error"; }
grep -qx "csv written=0 dead=8 enabled=0" "$tmp/embed3.out" ||
  { cat "$tmp/embed3.out"; fail "refused sink: counters"; }
[ "$(cat "$tmp/out/other.csv")" = "$(printf 'a,b\n1,2')" ] ||
  fail "the other CSV was modified"

step "a batch that does not fit is cut back, retried, then dead-lettered"
# 8174 bytes: every row crosses the 8 KiB file size limit part way.
{ head -n 1 "$src/tests/install/expected.csv"
  for _ in $(seq 290); do echo "old-run,1,scalar,1,,x,,1.0,"; done
} >"$tmp/out/full.csv"
cp "$tmp/out/full.csv" "$tmp/full.before"
write_config "$tmp/run4.json" embed-run-4 full.csv \
  '"retry": {"limit": 2, "base_ms": 0},'
(cd "$tmp" && trap '' XFSZ && ulimit -f 8 && exec ./embed run4.json \
  >embed4.out 2>embed4.err) || true
grep -qF "full.csv: write: File too large (batch not written; the host will retry it)" \
  "$tmp/embed4.err" || { cat "$tmp/embed4.err"; fail "no retry warning"; }
grep -qx "csv written=0 dead=8 enabled=1" "$tmp/embed4.out" ||
  { cat "$tmp/embed4.out" "$tmp/embed4.err"; fail "full file: counters"; }
cmp "$tmp/full.before" "$tmp/out/full.csv" ||
  fail "a batch that failed part way left bytes in the file"

step "the installed evtrack command runs the CSV sink"
"$P/bin/evtrack" check-config "$tmp/run1.json" >/dev/null ||
  fail "evtrack check-config"
cat >"$tmp/list.json" <<EOF
{"version": 1, "plugin_dirs": ["csv-build"], "sinks": []}
EOF
"$P/bin/evtrack" plugins -c "$tmp/list.json" >"$tmp/plugins2.out"
grep -qE "^csv +1\.0\.0 +1\.1 +$so\$" "$tmp/plugins2.out" ||
  { cat "$tmp/plugins2.out"; fail "evtrack plugins -c: no csv"; }
cat >"$tmp/demo.json" <<EOF
{
  "version": 1,
  "run_id": "demo-run",
  "output_dir": "demo-out",
  "sinks": [
    {"plugin": "jsonl"},
    {"name": "csv", "path": "$so", "config": {"file": "results.csv", "fsync": "batch"}}
  ]
}
EOF
(cd "$tmp" && "$P/bin/evtrack" demo -c demo.json --samples 10 >demo.out 2>&1) ||
  { cat "$tmp/demo.out"; fail "evtrack demo"; }
demo_csv=$tmp/demo-out/results.csv
head -n 1 "$demo_csv" | cmp - <(head -n 1 "$src/tests/install/expected.csv") ||
  fail "demo CSV header"
rows=$(tail -n +2 "$demo_csv" | grep -cE '^demo-run,[0-9]+,result,,demo_[a-z_]+,(acc|exact_match),[a-z-]+,[0-9.]+,[0-9.]*$' || true)
[ "$rows" = "$(($(wc -l <"$demo_csv") - 1))" ] && [ "$rows" -ge 4 ] ||
  { cat "$demo_csv"; fail "demo CSV rows"; }
grep -qE "^ +csv +csv +$rows +0 +0 +0 +0 +ok\$" "$tmp/demo.out" ||
  { cat "$tmp/demo.out"; fail "demo: csv counters"; }

step "the installed Python binding finds the installed library and plugins"
if command -v python3 >/dev/null; then
  pyd=$P/$libdir/python3/dist-packages
  [ -f "$pyd/evtrack/__init__.py" ] || fail "no $pyd/evtrack"
  (cd "$tmp" && env -u EVTRACK_LIB -u EVTRACK_PLUGIN_PATH PYTHONPATH="$pyd" \
    PYTHONDONTWRITEBYTECODE=1 python3 - <<'PY') || fail "python binding"
import json, os, evtrack
lib = evtrack.find_library()
assert lib.startswith(os.environ["PYTHONPATH"].rsplit("/lib", 2)[0]), lib
cfg = {"run_id": "py-run", "output_dir": "py-out",
       "sinks": [{"plugin": "jsonl"}]}
with evtrack.open(cfg) as t:
    t.log("run_start", {"model_name": "org/py"})
    t.log("sample", {"task": "t1", "doc_id": 0, "target": "a"})
files = [os.path.join(d, f) for d, _, fs in os.walk("py-out") for f in fs
         if f.endswith(".jsonl")]
assert len(files) == 1, files
line = json.loads(open(files[0]).read())
assert line["doc_id"] == 0 and line["target"] == "a", line
print("python binding: " + lib)
PY
fi
echo "ok"
