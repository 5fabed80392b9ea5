#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""coverage-summary.py JSON - line and branch coverage per source directory
from gcovr's --json-summary (the first two path components: core, sim, cli,
results, live, agent, backends/kvm, ...), and the total."""
import json
import sys


def main():
    if len(sys.argv) != 2:
        print("usage: coverage-summary.py GCOVR-JSON-SUMMARY", file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        data = json.load(f)
    dirs = {}
    for fl in data.get("files", []):
        parts = fl["filename"].split("/")
        key = ("/".join(parts[:2])
               if parts[0] == "backends" and len(parts) > 2 else parts[0])
        d = dirs.setdefault(key, [0, 0, 0, 0])
        d[0] += fl.get("line_covered", 0)
        d[1] += fl.get("line_total", 0)
        d[2] += fl.get("branch_covered", 0)
        d[3] += fl.get("branch_total", 0)
    tot = [sum(d[i] for d in dirs.values()) for i in range(4)]
    pct = lambda a, b: f"{100.0 * a / b:6.1f}%" if b else "     -"
    print(f"{'directory':<14} {'lines':>16} {'':>7} {'branches':>16} {'':>7}")
    for key in sorted(dirs):
        d = dirs[key]
        print(f"{key:<14} {d[0]:>7}/{d[1]:<8} {pct(d[0], d[1])} "
              f"{d[2]:>7}/{d[3]:<8} {pct(d[2], d[3])}")
    print(f"{'total':<14} {tot[0]:>7}/{tot[1]:<8} {pct(tot[0], tot[1])} "
          f"{tot[2]:>7}/{tot[3]:<8} {pct(tot[2], tot[3])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
