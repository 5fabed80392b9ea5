-- SPDX-License-Identifier: MIT
-- A trace line with a field after the node (trailing.trace:3), used on line 6.
cluster { nodes = 2 }
run { duration = "1s" }
app("web", "mem=64M")
trace { file = "trailing.trace" }
