-- SPDX-License-Identifier: MIT
-- sleep(1e300) (line 6): the error gives the maximum.
cluster { nodes = 1 }
run { duration = "1s" }
process(function()
  sleep(1e300)
end)
