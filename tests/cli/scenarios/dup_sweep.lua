-- SPDX-License-Identifier: MIT
-- A sweep list naming one duration twice ("1s" is 1000ms): line 4.
app("web", "mem=64M")
run { duration = { "1s", "2s", "1000ms" } }
