#!/usr/bin/env bash
# Installs what the foreign-client tests need, idempotently, with Debian's
# package manager: Apache ZooKeeper 3.8 (server and Java client), the C
# client's cli_mt, kazoo and pytest for /usr/bin/python3, and a JRE.
# kazoo's own test suite (compat-tests/kazoo) also imports mock and objgraph.
# Safe to run repeatedly; does nothing when everything is present.
set -euo pipefail

need=()
[ -f /usr/share/java/zookeeper.jar ] || need+=(zookeeper)
# Debian puts cli_mt in /usr/lib/zookeeper/bin, off PATH.
command -v cli_mt >/dev/null 2>&1 || [ -x /usr/lib/zookeeper/bin/cli_mt ] || need+=(zookeeper-bin)
/usr/bin/python3 -c 'import kazoo' >/dev/null 2>&1 || need+=(python3-kazoo)
/usr/bin/python3 -c 'import pytest' >/dev/null 2>&1 || need+=(python3-pytest)
/usr/bin/python3 -c 'import pytest_timeout' >/dev/null 2>&1 || need+=(python3-pytest-timeout)
/usr/bin/python3 -c 'import mock' >/dev/null 2>&1 || need+=(python3-mock)
/usr/bin/python3 -c 'import objgraph' >/dev/null 2>&1 || need+=(python3-objgraph)
# ZooKeeperServerMain's classpath (scripts/zookeeper-standalone.mjs): the
# slf4j binding is not a dependency of the zookeeper package.
[ -f /usr/share/java/slf4j-simple.jar ] || need+=(libslf4j-java)
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-test-deps: need root to install: ${need[*]}" >&2
  exit 1
fi
echo "install-test-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
