-- SPDX-License-Identifier: MIT
-- trace{file=} naming a directory (line 6): refused, not an empty trace.
cluster { nodes = 2 }
run { duration = "1s" }
app("web", "mem=64M")
trace { file = "." }
