#!/usr/bin/python3
"""cql_ping.py - independent CQL oracle for the dev Cassandra node.

Usage: cql_ping.py [-q CQL] [-t SECONDS] HOST PORT [USER PASS]

Connects with Debian's python3-cassandra driver (native protocol v4, the
version the project's C client speaks), logging in with PlainTextAuthProvider
when USER and PASS are given, and runs
    SELECT release_version FROM system.local
printing the version. With -q it runs that CQL instead and prints each row,
one per line, columns separated by tabs.

Exit 0 on success; 1 on any failure (error on stderr); 2 on bad usage.
Runs with /usr/bin/python3 on purpose: the driver is a Debian package, not pip.
"""
import argparse
import logging
import sys


def main():
    ap = argparse.ArgumentParser(description="CQL login + query check")
    ap.add_argument("-q", "--query", default="SELECT release_version FROM system.local")
    ap.add_argument("-t", "--timeout", type=float, default=5.0)
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("user", nargs="?")
    ap.add_argument("password", nargs="?")
    a = ap.parse_args()
    if (a.user is None) != (a.password is None):
        ap.error("give both USER and PASS, or neither")

    # The driver logs reconnection noise on the root logger; keep stderr for our errors.
    logging.basicConfig(level=logging.CRITICAL)
    try:
        from cassandra.auth import PlainTextAuthProvider
        from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
        from cassandra.policies import RoundRobinPolicy
    except ImportError as e:
        print(f"cql_ping: python3-cassandra missing ({e})", file=sys.stderr)
        return 1

    auth = PlainTextAuthProvider(a.user, a.password) if a.user is not None else None
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(),
                               request_timeout=a.timeout)
    cluster = Cluster([a.host], port=a.port, auth_provider=auth, protocol_version=4,
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                      connect_timeout=a.timeout, control_connection_timeout=a.timeout)
    try:
        session = cluster.connect()
        rows = list(session.execute(a.query))
    except Exception as e:  # NoHostAvailable wraps AuthenticationFailed etc.
        print(f"cql_ping: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        cluster.shutdown()
    for r in rows:
        print("\t".join("" if v is None else str(v) for v in r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
