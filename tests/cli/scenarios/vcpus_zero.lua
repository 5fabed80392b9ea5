-- SPDX-License-Identifier: MIT
-- cluster{vcpus=0} (line 3): refused at its declaration.
cluster { nodes = 2, vcpus = 0 }
run { duration = "1s" }
app("web", "mem=64M")
poisson { app = "web", rate = 5 }
