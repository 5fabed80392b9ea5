-- SPDX-License-Identifier: MIT
-- An arrival on a node a one-node cluster lacks: "has 1 node".
cluster { nodes = 1 }
app("web", "mem=64M init=50ms work=10ms")
constant { app = "web", interval = "1s", node = 3 }
