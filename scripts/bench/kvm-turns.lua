-- SPDX-License-Identifier: MIT
-- kvm-turns.lua - template clones of two apps taking turns, against the
-- same clones app after app: what a monitor's shell pool does when the
-- sizes asked for keep changing (backends/kvm/README.md, shell pools).
--
--   ukfork run scripts/bench/kvm-turns.lua --backend kvm --db T.db \
--       --set mode=turns         # a, b, a, b, ...
--   ukfork run scripts/bench/kvm-turns.lua --backend kvm --db T.db \
--       --set mode=rows          # a x n, then b x n
--   UKVM_POOL_SETTLE_MS=0 ukfork run ...   # the pool replacing at once
--
-- Each clone is waited for (it works 1 ms and exits, its shell going back
-- to the pool), then `gap` passes. App a has 24 MiB, b `bmem` (12 MiB:
-- another size; 24M for two apps of one size). The first two clones of
-- each app (template making, the first clone at a size) come before the
-- measured ones. Per run and app, the median (lower of the middle two)
-- request-to-ready of its template clones after the first, in us:
--
--   sqlite3 T.db "with c as (select run, app, t_ready - t_request as l,
--     row_number() over (partition by run, app order by id) as k,
--     count(*) over (partition by run, app) as n from instances
--     where start = 'template'), d as (select run, app, l, n,
--     row_number() over (partition by run, app order by l) as r
--     from c where k > 1) select d.run, runs.config, app, n - 1,
--     l / 1000 from d join runs on runs.id = d.run where r = n / 2"
local mode = param("mode", "turns")
local gap = param("gap", "20ms")
local n = param("n", 20)
if mode ~= "turns" and mode ~= "rows" then
  error("mode must be turns or rows, got " .. tostring(mode))
end
if type(n) ~= "number" or n < 1 or n > 10000 then
  error("n must be a number in [1, 10000], got " .. tostring(n))
end

cluster { nodes = 1, vcpus = 16, memory = "2G" }
policy  { placement = "local", templates = "on-demand" }
run     { duration = "600s" }

app("a", "mem=24M init=1ms work=1ms dirty=16")
app("b", "mem=" .. param("bmem", "12M") .. " init=1ms work=1ms dirty=16")

local function one(name)
  wait(spawn(name, nil, 0))
  sleep(gap)
end

process(function()
  -- a cold boot that makes each template, then each one's first clone
  one("a"); one("b"); one("a"); one("b")
  if mode == "turns" then
    for _ = 1, n do one("a"); one("b") end
  else
    for _ = 1, n do one("a") end
    for _ = 1, n do one("b") end
  end
end)
