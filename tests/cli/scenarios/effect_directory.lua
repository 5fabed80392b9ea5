-- SPDX-License-Identifier: MIT
-- Bursts of long requests from random origins on 4 nodes: least-loaded
-- placement from a stale directory places differently, so the node of
-- every instance shows dir_delay, dir_delay_p99, directory and seed
-- (tests/cli settings_cluster, settings_run).
cluster { nodes = 4 }
policy { templates = "none" }
run { duration = "2s" }
app("job", "mem=64M init=10ms work=300ms")
bursts { app = "job", every = "200ms", size = 6, spread = "20ms" }
