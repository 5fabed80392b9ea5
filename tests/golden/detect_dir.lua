-- SPDX-License-Identifier: MIT
-- detect_dir.lua - a failed node is noticed as the imitated directory
-- notices it (data/directory.conf *_detect_ns) unless churn{ detect = }
-- says otherwise; without a directory, at once. Node 2 fails at 1 s.
--   --set dir=none|embedded|etcd|etcd3  --set detect=none|TIME
--   --set mtbf=none|TIME (churn{ mtbf, mttr = 1s } too: settings_json)
local dir = param("dir", "none")
local detect = param("detect", "none")
local mtbf = param("mtbf", "none")
local c = { nodes = 3, vcpus = 4, memory = "2G" }
if dir ~= "none" then c.directory = dir end
cluster(c)
run { duration = "6s" }
local ch = {}
if detect ~= "none" then ch.detect = detect end
if mtbf ~= "none" then ch.mtbf = mtbf; ch.mttr = "1s" end
if next(ch) then churn(ch) end
app("svc", "mem=64M init=10ms work=100ms")
process(function()
  sleep("1s")
  fail_node(2, "power lost")
end)
