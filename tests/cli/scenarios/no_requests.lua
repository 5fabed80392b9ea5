-- SPDX-License-Identifier: MIT
-- A run that requests no instance: its summary row has no latencies.
cluster { nodes = 1 }
run { duration = "1s" }
app("web", "mem=64M init=50ms work=10ms")
process(function() sleep(0.5) end)
