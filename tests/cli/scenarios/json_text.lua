-- SPDX-License-Identifier: MIT
-- Text that JSON must escape or cannot hold in settings_json (tests/cli
-- sweep_test.sh json): a slash, tab, quote and backslash, a byte that is
-- not UTF-8, a number that is not a whole one.
local t = param("t", "a/b\tc\"d\\e")
local u = param("u", "x\255y")
local n = param("n", 0.1)
run { duration = "1s" }
app("w\\x", "mem=16M init=1ms work=1ms")
