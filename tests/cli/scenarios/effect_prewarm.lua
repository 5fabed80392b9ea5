-- SPDX-License-Identifier: MIT
-- Three apps equally requested on two nodes with the prewarm policy: with
-- prewarm = 3 every app is kept on every node, so after the first
-- requests nothing boots cold (tests/cli settings_policy).
cluster { nodes = 2 }
policy { templates = "prewarm" }
run { duration = "2s" }
app("a", "mem=64M init=50ms work=10ms")
app("b", "mem=64M init=50ms work=10ms")
app("c", "mem=64M init=50ms work=10ms")
constant { app = "a", interval = "100ms" }
constant { app = "b", interval = "100ms", start = "10ms" }
constant { app = "c", interval = "100ms", start = "20ms" }
