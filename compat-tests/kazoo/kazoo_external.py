"""Pytest plugin: run kazoo's own test suite against an external server.

kazoo's harness (kazoo/testing/harness.py) starts a three-node ZooKeeper
ensemble from a Java classpath through ``get_global_cluster()`` and gives
every test a client chrooted to a fresh ``/kazootests<uuid>`` namespace.
This plugin swaps that ensemble for one server that is already running at
``--external-server HOST:PORT`` (or $KAZOO_EXTERNAL_SERVER):

* ``get_global_cluster`` returns an ``ExternalCluster`` holding that one
  address; starting it does nothing, and stopping or restarting it fails the
  test loudly, because a server we do not own cannot be stopped;
* ``KazooTestHarness.teardown_zookeeper`` also deletes the test's namespace,
  so repeated runs leave the server as they found it;
* the tests that stop, restart or add servers are skipped, each with its
  reason, in ``SKIPPED_TESTS`` below; nothing else is skipped by us (the
  SASL digest tests run with --sasl-digest, for a target configured with
  kazoo's SASL users);
* at the end one machine-readable line is printed, for scripts:
  ``KAZOO-COMPAT passed=N failed=N errors=N skipped=N ... duration_s=S``,
  and the same counts are written as JSON to --summary-json if given.

Load it with ``-p kazoo_external`` with this directory on PYTHONPATH; run.sh
does that.
"""
import json
import logging
import os
import sys
import time
import unittest.mock

import pytest

# kazoo 2.8's tests import the third-party ``mock`` package (Debian:
# python3-mock). unittest.mock is the same library, so fall back to it.
try:
    import mock  # noqa: F401
except ImportError:
    sys.modules["mock"] = unittest.mock

log = logging.getLogger("kazoo_external")

SUPER_AUTH_DEFAULT = "super:test"

SASL_DIGEST_TESTS = (
    "kazoo.tests.test_sasl.TestLegacySASLDigestAuthentication.test_connect_sasl_auth",
    "kazoo.tests.test_sasl.TestLegacySASLDigestAuthentication.test_invalid_sasl_auth",
    "kazoo.tests.test_sasl.TestSASLDigestAuthentication.test_connect_sasl_auth",
    "kazoo.tests.test_sasl.TestSASLDigestAuthentication.test_invalid_sasl_auth",
)
SASL_DIGEST_REASON = (
    "needs the server restarted with a JAAS (SASL DIGEST-MD5) configuration "
    "with users jaasuser/jaas_password and super/super_secret; "
    "pass --sasl-digest if the target already has it")

# kazoo 2.8 knows no error code -123 (RECONFIG_DISABLED, ZooKeeper 3.5.3+):
# against a server with reconfig disabled its connection thread dies with
# "RuntimeError: Invalid error code" and these tests hang until the per-test
# timeout. Skipped with --reconfig-disabled (npm run compat runs both
# servers with reconfig disabled, so they are compared like for like).
RECONFIG_DISABLED_TESTS = (
    "kazoo.tests.test_client.TestReconfig.test_no_super_auth",
    "kazoo.tests.test_client.TestReconfig.test_bad_input",
)
RECONFIG_DISABLED_REASON = (
    "the server has reconfig disabled and answers reconfig with "
    "RECONFIG_DISABLED (-123), an error code kazoo 2.8 does not know: its "
    "connection thread dies and the test hangs until the timeout")

# Tests that cannot run against one external server, keyed by where the test
# function is defined (module.Class.function), so the copies that other
# classes inherit (TestGeventClient and TestEventletClient re-run TestClient
# under other handlers) are skipped too.
SKIPPED_TESTS = {
    "kazoo.tests.test_client.TestClient.test_update_host_list":
        "stops and restarts server 0 of kazoo's 3-node ensemble and expects "
        "the client to stay connected through the other two",
    "kazoo.tests.test_client.TestClient.test_request_queuing_session_recovered":
        "stops the server to suspend the client, then restarts it",
    "kazoo.tests.test_client.TestClient.test_request_queuing_session_expired":
        "stops the server to suspend the client, then restarts it",
    "kazoo.tests.test_connection.TestReadOnlyMode.test_read_only":
        "stops 2 of the 3 ensemble servers so the third goes read-only",
    "kazoo.tests.test_client.TestReconfig.test_add_remove_observer":
        "adds an observer server to the ensemble by dynamic reconfiguration",
    # The harness restarts its cluster with a JAAS file for these (when
    # ZOOKEEPER_JAAS_AUTH changes). --sasl-digest runs them anyway, for a
    # target already started with kazoo's SASL users.
    **{name: SASL_DIGEST_REASON for name in SASL_DIGEST_TESTS},
    "kazoo.tests.test_sasl.TestSASLGSSAPIAuthentication.test_connect_gssapi_auth":
        "needs the server restarted with a Kerberos (SASL GSSAPI) configuration and a test KDC",
    "kazoo.tests.test_sasl.TestSASLGSSAPIAuthentication.test_invalid_gssapi_auth":
        "needs the server restarted with a Kerberos (SASL GSSAPI) configuration and a test KDC",
}


class ExternalServer:
    """Stands in for kazoo.testing.common.ManagedZooKeeper."""

    def __init__(self, host, port):
        self.host = host
        self.client_port = port

    @property
    def address(self):
        return "%s:%s" % (self.host, self.client_port)

    @property
    def running(self):
        return True

    def run(self):
        pass

    def _refuse(self, *args, **kwargs):
        raise RuntimeError(
            "kazoo_external: this test tries to stop or reset the external "
            "server %s; add it to SKIPPED_TESTS in kazoo_external.py with the "
            "reason" % self.address)

    stop = reset = destroy = _refuse


class ExternalCluster:
    """Stands in for kazoo.testing.common.ZookeeperCluster: one server."""

    def __init__(self, host, port):
        self._servers = [ExternalServer(host, port)]

    def __getitem__(self, index):
        try:
            return self._servers[index]
        except IndexError:
            raise RuntimeError(
                "kazoo_external: this test uses ensemble server %r, but the "
                "external target is a single server; add it to SKIPPED_TESTS "
                "with the reason" % (index,))

    def __iter__(self):
        return iter(self._servers)

    def __len__(self):
        return len(self._servers)

    def start(self):
        pass

    def _refuse(self, *args, **kwargs):
        self._servers[0].stop()

    stop = terminate = reset = _refuse


class NamespaceCleaner:
    """Deletes each test's chroot namespace through one shared client.

    A test's namespace is deleted at its teardown, and once more at the end
    of the session: clients or threads a test leaks can recreate nodes after
    its teardown. Namespaces still present at the end are reported.
    It authenticates as the super user when the server knows that digest
    (kazoo's harness configures super:test), so nodes under restrictive ACLs
    can be deleted too. Cleanup is best effort: a failure is logged, never
    turned into a test failure.
    """

    def __init__(self, hosts, super_auth):
        self.hosts = hosts
        self.super_auth = super_auth
        self.client = None
        self.namespaces = {}  # namespace -> id of the test that used it

    def _connect(self):
        from kazoo.client import KazooClient

        if self.client is None:
            self.client = KazooClient(self.hosts, timeout=10)
            self.client.start(timeout=15)
            if self.super_auth:
                try:
                    self.client.add_auth("digest", self.super_auth)
                except Exception:
                    log.warning("super auth refused; cleanup without it",
                                exc_info=True)
        return self.client

    def remember(self, namespace, test_id):
        if namespace and namespace != "/":
            self.namespaces[namespace] = test_id

    def delete(self, namespace, test_id):
        if not namespace or namespace == "/":
            return
        self.remember(namespace, test_id)
        self._delete(namespace)

    def _delete(self, namespace):
        try:
            self._connect().delete(namespace, recursive=True)
            return True
        except Exception:
            log.warning("could not delete %s", namespace, exc_info=True)
            self.close()
            return False

    def sweep(self):
        """Deletes what tests recreated after their teardown; returns
        {namespace: test id} of those found, and whether each went."""
        found = {}
        for namespace, test_id in self.namespaces.items():
            try:
                if self._connect().exists(namespace) is None:
                    continue
            except Exception:
                self.close()
                continue
            found[namespace] = (test_id, self._delete(namespace))
        return found

    def close(self):
        if self.client is not None:
            try:
                self.client.stop()
                self.client.close()
            except Exception:
                pass
            self.client = None


def _parse_target(text):
    host, separator, port = text.rpartition(":")
    if not separator or not host or not port.isdigit():
        raise pytest.UsageError(
            "kazoo_external: target must be HOST:PORT, got %r" % text)
    return host, int(port)


def _install_external_cluster(cluster, cleaner):
    from kazoo.testing import harness

    harness.get_global_cluster = lambda: cluster
    original_setup = harness.KazooTestHarness.setup_zookeeper
    original_teardown = harness.KazooTestHarness.teardown_zookeeper

    def namespace_of(test):
        hosts = getattr(test, "hosts", "")
        slash = hosts.find("/")
        return hosts[slash:] if slash >= 0 else None

    # The namespace is remembered as soon as it exists: a test whose setUp
    # skips or fails after setup_zookeeper never reaches its tearDown.
    def setup_zookeeper(self, **client_options):
        try:
            original_setup(self, **client_options)
        finally:
            cleaner.remember(namespace_of(self), self.id())

    def teardown_zookeeper(self):
        original_teardown(self)
        cleaner.delete(namespace_of(self), self.id())

    harness.KazooTestHarness.setup_zookeeper = setup_zookeeper
    harness.KazooTestHarness.teardown_zookeeper = teardown_zookeeper


def pytest_addoption(parser):
    group = parser.getgroup("kazoo_external")
    group.addoption(
        "--external-server", default=os.environ.get("KAZOO_EXTERNAL_SERVER"),
        help="HOST:PORT of the server under test (or $KAZOO_EXTERNAL_SERVER)")
    group.addoption(
        "--super-auth",
        default=os.environ.get("KAZOO_EXTERNAL_SUPER_AUTH", SUPER_AUTH_DEFAULT),
        help="user:password of the server's super digest, used only to "
             "delete test namespaces (default super:test, as kazoo's harness)")
    group.addoption(
        "--sasl-digest", action="store_true",
        default=bool(os.environ.get("KAZOO_EXTERNAL_SASL_DIGEST")),
        help="the target accepts SASL DIGEST-MD5 for kazoo's users "
             "(jaasuser:jaas_password): run the 4 SASL digest tests")
    group.addoption(
        "--reconfig-disabled", action="store_true",
        default=bool(os.environ.get("KAZOO_EXTERNAL_RECONFIG_DISABLED")),
        help="the target has reconfig disabled: skip the 2 TestReconfig "
             "tests that would hang on its error -123")
    group.addoption(
        "--summary-json", default=None,
        help="also write the final counts to this JSON file")


def pytest_configure(config):
    target = config.getoption("external_server")
    if not target:
        raise pytest.UsageError(
            "kazoo_external: give --external-server HOST:PORT")
    host, port = _parse_target(target)
    cleaner = NamespaceCleaner("%s:%d" % (host, port),
                               config.getoption("super_auth"))
    _install_external_cluster(ExternalCluster(host, port), cleaner)
    config._kazoo_external = {
        "target": "%s:%d" % (host, port),
        "cleaner": cleaner,
        "started": time.time(),
    }


def pytest_unconfigure(config):
    state = getattr(config, "_kazoo_external", None)
    if state:
        state["cleaner"].close()


def _defining_name(item):
    function = getattr(item, "obj", None)
    function = getattr(function, "__func__", function)
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None)
    if not module or not qualname:
        return None
    return "%s.%s" % (module, qualname)


def pytest_collection_modifyitems(config, items):
    skips = dict(SKIPPED_TESTS)
    if config.getoption("sasl_digest"):
        for name in SASL_DIGEST_TESTS:
            del skips[name]
    if config.getoption("reconfig_disabled"):
        for name in RECONFIG_DISABLED_TESTS:
            skips[name] = RECONFIG_DISABLED_REASON
    for item in items:
        reason = skips.get(_defining_name(item))
        if reason:
            item.add_marker(pytest.mark.skip(
                reason="external server: " + reason))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = getattr(config, "_kazoo_external", None)
    if state is None:
        return
    stats = terminalreporter.stats
    # The same tallies as pytest's own closing line.
    counts = {
        key: len(stats.get(key, []))
        for key in ("passed", "failed", "error", "skipped", "xfailed",
                    "xpassed")
    }
    counts["errors"] = counts.pop("error")
    duration = time.time() - state["started"]
    leftovers = state["cleaner"].sweep()
    if leftovers:
        terminalreporter.write_line(
            "kazoo_external: %d test namespace(s) outlived their test (setUp "
            "skipped or failed before tearDown, or leaked clients or threads "
            "wrote after it); swept now:"
            % len(leftovers))
        for namespace, (test_id, deleted) in sorted(
                leftovers.items(), key=lambda entry: entry[1][0]):
            terminalreporter.write_line("  %s %s%s" % (
                test_id, namespace, "" if deleted else " (NOT deleted)"))
    failed_ids = sorted({r.nodeid for r in stats.get("failed", [])})
    error_ids = sorted({r.nodeid for r in stats.get("error", [])})
    line = "KAZOO-COMPAT target=%s passed=%d failed=%d errors=%d " \
           "skipped=%d xfailed=%d xpassed=%d duration_s=%.1f exit=%d" % (
               state["target"], counts["passed"], counts["failed"],
               counts["errors"], counts["skipped"], counts["xfailed"],
               counts["xpassed"], duration, int(exitstatus))
    terminalreporter.write_line(line)
    path = config.getoption("summary_json")
    if path:
        summary = dict(counts, target=state["target"],
                       duration_s=round(duration, 1), exit=int(exitstatus),
                       failed_tests=failed_ids, error_tests=error_ids)
        with open(path, "w") as handle:
            json.dump(summary, handle, indent=2)
            handle.write("\n")
