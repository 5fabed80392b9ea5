-- SPDX-License-Identifier: MIT
-- An app string giving mem= twice (line 5): which one was meant? Refused.
cluster { nodes = 1 }
run { duration = "1s" }
app("web", "mem=64M init=5ms mem=32M")
poisson { app = "web", rate = 5 }
