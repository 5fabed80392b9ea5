-- SPDX-License-Identifier: MIT
-- templates.lua - cold boot vs on-demand templates vs prewarmed templates.
--
--   ukfork run scripts/examples/templates.lua --reps 3 --db templates.db
--   ukfork run scripts/examples/templates.lua --backend kvm --db templates-kvm.db
--   ukfork report templates.db
--
-- "none" boots every instance cold; "on-demand" makes a template at the
-- first ready() of an app on a node and clones later requests from it;
-- "prewarm" keeps templates of the `prewarm` most requested apps on every
-- node. Many apps with a skewed popularity make the difference visible.
--
-- The same file runs on both backends. The simulated cluster has 16
-- nodes; with --backend kvm the world is this one machine (one node, a
-- few cores), so backend() == "kvm" scales the load down: the same apps
-- and policies with less memory and initialisation, 1/15 of the rate,
-- arrivals for 2.5 s; the run ends once every instance has finished
-- (a live world stops when nothing is left to do), `duration` being a
-- 10 s deadline.

local kvm = backend() == "kvm"
-- On kvm, --set kvm_stretch=F spreads the same number of arrivals over F
-- times the window (for a slow or emulated KVM such as scripts/kvm-vm).
local f = param("kvm_stretch", 1) -- used on kvm only

cluster { nodes = kvm and 1 or 16, vcpus = 8, memory = kvm and "4G" or "16G",
          cache = "512M" }
policy {
  templates = { "none", "on-demand", "prewarm" },
  placement = "template-affinity",
  prewarm = 4,
}
run { duration = kvm and "10s" or "30s" }

-- Twelve apps: app1 is the most popular, app12 the least (Zipf-like rates).
for i = 1, 12 do
  if kvm then
    app("app" .. i, string.format("mem=%dM init=%dms work=5ms dirty=128",
                                  16 * (1 + i % 3), 20 + 5 * i))
    poisson { app = "app" .. i, rate = 4 / i / f, stop = (2.5 * f) .. "s" }
  else
    app("app" .. i, string.format("mem=%dM init=%dms work=5ms dirty=128",
                                  32 * (1 + i % 3), 100 + 40 * i))
    poisson { app = "app" .. i, rate = 60 / i }
  end
end
