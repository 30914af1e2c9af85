#!/usr/bin/env bash
# Functions that invite buffer overflows or hide errors are not used.
set -euo pipefail
cd "$(dirname "$0")/.."
if grep -rnE '\b(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|strtok)\s*\(' \
     --include='*.c' --include='*.h' core sdk plugins tests bench include; then
  echo "banned function used (see above); use snprintf, memcpy, strtol" >&2
  exit 1
fi
echo "no banned functions"
