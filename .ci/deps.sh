#!/usr/bin/env bash
# Install what evtrack needs to build and test, from Debian packages.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  cmake make gcc clang libclang-rt-dev pkg-config git ca-certificates openssl \
  libmsgpack-dev libcjson-dev libcurl4-openssl-dev libcmocka-dev libxxhash-dev \
  valgrind python3 >/dev/null
