-- SPDX-License-Identifier: MIT
-- An app that forks 4 children: max_children caps how many a parent gets
-- (tests/cli settings_policy).
cluster { nodes = 1, vcpus = 16, memory = "4G" }
run { duration = "2s" }
app("fan", "mem=16M init=5ms work=10ms fork=4")
constant { app = "fan", interval = "1s" }
