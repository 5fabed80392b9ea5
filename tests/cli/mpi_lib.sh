# SPDX-License-Identifier: MIT
# mpi_lib.sh - sourced by tests/cli/mpi_test.sh and scripts/slurm/check.sh:
# the sweep both run under an MPI launcher and how they compare its
# database with a serial run's. POSIX sh.

# mpi_sweep_lua FILE: a scenario with every table the runner writes: two
# apps, prewarmed templates (template_boots), forks, node samples; its
# parameter rate makes a sweep (--set rate=10,40).
mpi_sweep_lua() {
	cat >"$1" <<'LUA'
cluster { nodes = 2, vcpus = 4 }
policy { templates = "prewarm" }
run { duration = "1s", sample_every = "100ms" }
app("a", "mem=64M init=50ms work=10ms")
app("b", "mem=64M init=30ms work=5ms")
poisson { app = "a", rate = param("rate", 20) }
constant { app = "b", interval = "100ms", start = "10ms" }
process(function()
  local id = spawn("a")
  ready(id)
  wait(fork(id))
  wait(id)
end)
LUA
}

# mpi_dump DB OUT: every stored row of DB in storage order into OUT,
# without the wall-clock columns (runs.started_unix_ns, runs.wall_s); no
# host columns exist. Two databases of the same sweep are equal when their
# dumps are (cmp). Fails (status of sqlite3) when DB cannot be read.
mpi_dump() {
	sqlite3 "$1" "
select 'run', id, kind, scenario, scenario_hash, config, settings_json,
  seed, rep, backend, version, events, sim_end_ns from runs order by id;
select 'inst', * from instances order by rowid;
select 'tboot', * from template_boots order by rowid;
select 'sample', * from samples order by rowid;
select 'boot', count(*) from boots;
select 'meta', * from meta order by key;" >"$2"
}

# mpi_table OUT: the summary table of a `ukfork run` stdout, without its
# wall-clock per-run lines.
mpi_table() { sed -n '/^config /,$p' "$1"; }
