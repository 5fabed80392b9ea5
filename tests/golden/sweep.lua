-- SPDX-License-Identifier: MIT
-- sweep.lua - golden scenario: a sweep of template policies x 2 reps; the
-- log holds every run in order.
cluster { nodes = 2, vcpus = 4, memory = "2G" }
policy { templates = { "none", "on-demand" }, placement = "random" }
run { duration = "1s" }
app("svc", "mem=64M init=60ms work=5ms dirty=8")
bursts { app = "svc", every = "400ms", size = 3, spread = "50ms" }
