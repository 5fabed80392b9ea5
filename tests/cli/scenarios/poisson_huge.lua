-- SPDX-License-Identifier: MIT
-- poisson{rate=1e12} (line 6): refused with the bound, not run out of memory.
cluster { nodes = 1 }
run { duration = "1s" }
app("web", "mem=64M")
poisson { app = "web", rate = 1e12 }
