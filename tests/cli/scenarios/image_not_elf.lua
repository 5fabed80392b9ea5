-- SPDX-License-Identifier: MIT
-- A guest image that is a text file (line 5): refused at the check on kvm.
cluster { nodes = 1, vcpus = 4, memory = "2G" }
run { duration = "1s" }
app("text", "mem=16M", { image = "./image_not_elf.lua" })
poisson { app = "text", rate = 5 }
