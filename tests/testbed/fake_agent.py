#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# fake_agent.py - a stand-in node agent for the testbed tests, started the way
# testbed.sh starts ukforkd (--cluster FILE --node K --log FILE): it checks its
# [node K] section of the cluster file, listens on the node's endpoint and
# answers each connection, once the client has shut its side, with
# "node K <bytes received>".
#   --mode listen        (default) as above
#   --mode ignore-term   the same, but SIGTERM is ignored (down must SIGKILL)
#   --mode never-listen  runs but never listens (never comes up)
#   --mode exit          fails at once with status 3
import argparse
import os
import signal
import socket
import socketserver
import stat
import sys
import threading
import time


def log(path, msg):
    with open(path, "a") as f:
        f.write("fake-agent: %s\n" % msg)


def read_cluster(path):
    """Sections of an ini-like cluster file: {"node 0": {key: value}}."""
    sections, cur = {}, None
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[") and line.endswith("]"):
                cur = sections.setdefault(line[1:-1], {})
            elif "=" in line and cur is not None:
                k, v = line.split("=", 1)
                cur[k.strip()] = v.strip()
            else:
                raise ValueError("%s:%d: not a section or key = value" % (path, n))
    return sections


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cluster", required=True)
    ap.add_argument("--node", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--mode", default="listen",
                    choices=["listen", "ignore-term", "never-listen", "exit"])
    a = ap.parse_args()
    if a.mode == "exit":
        print("fake-agent: failing on purpose", file=sys.stderr)
        return 3
    sec = read_cluster(a.cluster).get("node %d" % a.node)
    if sec is None:
        log(a.log, "no [node %d] in %s" % (a.node, a.cluster))
        return 1
    for key in ("endpoint", "public_key", "secret_key_file", "netns"):
        if key not in sec:
            log(a.log, "[node %d] has no %s" % (a.node, key))
            return 1
    keyf = os.path.join(os.path.dirname(a.cluster), sec["secret_key_file"])
    if stat.S_IMODE(os.stat(keyf).st_mode) != 0o600:
        log(a.log, "%s is not mode 0600" % keyf)
        return 1
    ep = sec["endpoint"]
    host, port = ep[len("tcp://"):].rsplit(":", 1)
    if a.mode == "ignore-term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if a.mode == "never-listen":
        log(a.log, "node %d: not listening on purpose" % a.node)
        while True:
            time.sleep(1)

    node = a.node

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            n = 0
            while True:
                b = self.request.recv(65536)
                if not b:
                    break
                n += len(b)
            self.request.sendall(b"node %d %d\n" % (node, n))

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.daemon_threads = True
    srv = socketserver.ThreadingTCPServer((host, int(port)), Handler)
    log(a.log, "node %d: listening on %s" % (node, ep))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    while True:
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
