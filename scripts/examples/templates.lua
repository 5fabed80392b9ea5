-- SPDX-License-Identifier: MIT
-- templates.lua - cold boot vs on-demand templates vs prewarmed templates.
--
--   ukfork run scripts/examples/templates.lua --reps 3 --db templates.db
--   ukfork report templates.db
--
-- "none" boots every instance cold; "on-demand" makes a template at the
-- first ready() of an app on a node and clones later requests from it;
-- "prewarm" keeps templates of the `prewarm` most requested apps on every
-- node. Many apps with a skewed popularity make the difference visible.

cluster { nodes = 16, vcpus = 8, memory = "16G", cache = "512M" }
policy {
  templates = { "none", "on-demand", "prewarm" },
  placement = "template-affinity",
  prewarm = 4,
}
run { duration = "30s" }

-- Twelve apps: app1 is the most popular, app12 the least (Zipf-like rates).
for i = 1, 12 do
  app("app" .. i, string.format("mem=%dM init=%dms work=5ms dirty=128",
                                32 * (1 + i % 3), 100 + 40 * i))
  poisson { app = "app" .. i, rate = 60 / i }
end
