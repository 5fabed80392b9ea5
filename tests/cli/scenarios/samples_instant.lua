-- SPDX-License-Identifier: MIT
-- One 16 MiB instance from 0 to the end, a second one at 0.5 s, sampled
-- every 100 ms (tests/cli/cli_more.sh samples_instant): each sample shows
-- the state after the events of its instant, so the sample at 0 has the
-- first instance and the one at 0.5 s both.
cluster { nodes = 1, vcpus = 4, memory = "1G" }
policy { templates = "none" }
run { duration = "1s", sample_every = "100ms" }
app("web", "mem=16M init=10ms work=10s")
constant { app = "web", interval = "500ms", stop = "0.6s" }
