-- SPDX-License-Identifier: MIT
-- One request every 100 ms from node 0 on a cluster of 2: where they go,
-- how they start and how long remote starts take show nodes, cache,
-- latency, bandwidth, placement, templates, fetch, duration and
-- sample_every (tests/cli settings_*).
cluster { nodes = 2 }
run { duration = "2s" }
app("web", "mem=64M init=30ms work=10ms")
constant { app = "web", interval = "100ms", node = 0 }
