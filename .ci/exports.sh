#!/usr/bin/env bash
# Every sink plugin exports exactly one symbol: evt_sink_entry_v1.
set -euo pipefail
build=${1:-build}
status=0
shopt -s nullglob
for so in "$build"/lib/evtrack/plugins/*.so; do
  syms=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort)
  if [ "$syms" != "evt_sink_entry_v1" ]; then
    echo "$so exports: $(echo "$syms" | tr '\n' ' ')" >&2
    status=1
  fi
done
[ $status = 0 ] && echo "plugin exports: ok"
exit $status
