-- SPDX-License-Identifier: MIT
-- An arrival window that ends before it starts is refused.
cluster { nodes = 1 }
app("web", "mem=64M init=50ms work=10ms")
poisson { app = "web", rate = 5, start = "2s", stop = "1s" }
