-- SPDX-License-Identifier: MIT
-- cold-paths.lua - cold boots only, through node agents, for scripts/bench/cold-paths.sh: a 12 MiB and a 24 MiB app in turns, one request every 300 ms, no templates (every start is cold).
cluster { nodes = 1, vcpus = 16, memory = "2G", latency = "100us",
          bandwidth = "1G" }
policy  { placement = "least-loaded", templates = "none" }
run     { duration = "12s" }
app("w", "mem=12M init=1ms work=1ms dirty=32")
app("f", "mem=24M init=1ms work=1ms dirty=32")
constant { app = "w", interval = "600ms", start = "0ms",   stop = "5400ms" }
constant { app = "f", interval = "600ms", start = "300ms", stop = "5700ms" }
