-- SPDX-License-Identifier: MIT
-- A guest image that is a directory (line 5): refused at the check on kvm.
cluster { nodes = 1, vcpus = 4, memory = "2G" }
run { duration = "1s" }
app("dir", "mem=16M", { image = "./" })
poisson { app = "dir", rate = 5 }
