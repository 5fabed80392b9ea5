-- SPDX-License-Identifier: MIT
-- A guest image that does not exist: exit 2 naming it, nothing stored.
cluster { nodes = 1, vcpus = 4, memory = "2G" }
run { duration = "1s" }
app("web", "mem=16M", { image = "no-such-guest" })
poisson { app = "web", rate = 5 }
