-- SPDX-License-Identifier: MIT
-- Five requests at t=0 on one node, each 1 vCPU and 64M for about 1 s,
-- no templates: how many run at once shows vcpus and memory, when the
-- waiting ones are placed shows retry and max_retries (tests/cli
-- settings_policy, settings_cluster).
cluster { nodes = 1 }
policy { templates = "none" }
run { duration = "10s" }
app("job", "mem=64M init=10ms work=1s")
bursts { app = "job", every = "20s", size = 5 }
