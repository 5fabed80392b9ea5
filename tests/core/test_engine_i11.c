/* SPDX-License-Identifier: MIT */
/* test_engine_i11.c - the engine's answers to issue 11 items 3-5: forks of
 * one parent at one instant, template boots as VMs with rows, failing at the
 * last attempt. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/engine.h"
#include "fake.h"
#include "results/results.h"

static int failures;

static struct fake_world *world(uint32_t nodes, uint32_t vcpus,
				const char *placement, const char *templates,
				uint32_t max_retries)
{
	struct ukf_engine_config c;
	char err[300];
	struct fake_world *fw;

	ukf_engine_config_default(&c);
	c.nodes = nodes;
	c.node.vcpus = vcpus;
	c.placement = placement;
	c.templates = templates;
	c.max_retries = max_retries;
	c.prewarm_k = 1;
	fw = fake_create(&c, err, sizeof(err));
	if (!fw) {
		fprintf(stderr, "fake_create: %s\n", err);
		exit(2);
	}
	if (getenv("UKF_TEST_VERBOSE"))
		fw->verbose = 1;
	return fw;
}

/* The row of a template boot on node, or NULL. */
static const struct ukf_record *boot_row(const struct fake_world *fw,
					 ukf_node_id_t node)
{
	for (size_t i = 0; i < fw->nrecs; i++)
		if (fw->recs[i].r.template_boot && fw->recs[i].r.node == node)
			return &fw->recs[i].r;
	return NULL;
}

static size_t boot_rows(const struct fake_world *fw)
{
	size_t n = 0;

	for (size_t i = 0; i < fw->nrecs; i++)
		n += fw->recs[i].r.template_boot != 0;
	return n;
}

/* A running "manual" instance on node 0 whose template node 0 holds. */
static ukf_id_t manual_parent(struct fake_world *fw)
{
	ukf_id_t p = 0;

	CHECK_EQ(fake_app(fw, "manual", "init=1ms mem=1M dirty=4"), 0);
	CHECK_EQ(fake_start(fw), 0);
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &p), 0);
	fake_run(fw, 100 * UKF_MS);
	CHECK(fake_has_template(fw, 0, 0));
	return p;
}

/*
 * Item 3: two forks of one parent asked at the same instant, each placed
 * on another node with room. Both start; neither waits for a back-off, so
 * with max_retries = 0 neither fails. They share one delta save (asked
 * when it began); the children are forks on two other nodes.
 */
static void t_i11_forks_same_instant(void)
{
	struct fake_world *fw = world(3, 1, "least-loaded", "on-demand", 0);
	ukf_id_t p = manual_parent(fw), a = 0, b = 0;
	const struct fake_rec *ra, *rb;

	CHECK_EQ(fake_fork(fw, p, 1, &a), 0);
	CHECK_EQ(fake_fork(fw, p, 2, &b), 0);
	fake_run(fw, fw->now + UKF_S);
	CHECK_EQ(fake_log_count(fw, " retry "), 0);
	CHECK_EQ(fw->fail_hooks, 0);
	CHECK_EQ(fw->ready_hooks, 3); /* the parent and both children */
	CHECK_EQ(fake_log_count(fw, "via=delta"), 2);
	CHECK_EQ(fake_log_count(fw, "delta-wait"), 1);
	CHECK(fw->inst[a].alive && fw->inst[b].alive);
	CHECK(fw->inst[a].node != 0 && fw->inst[b].node != 0);
	CHECK(fw->inst[a].node != fw->inst[b].node);
	fake_exit(fw, a, 0);
	fake_exit(fw, b, 0);
	fake_run(fw, fw->now + UKF_S);
	ra = fake_rec(fw, a);
	rb = fake_rec(fw, b);
	CHECK(ra && rb);
	if (ra && rb) {
		CHECK_EQ(ra->r.status, 0);
		CHECK_EQ(rb->r.status, 0);
		CHECK_EQ(ra->r.start, UKF_START_FORK);
		CHECK_EQ(rb->r.start, UKF_START_FORK);
		/* one save: both deltas left at once */
		CHECK_EQ(ra->r.t_placed, rb->r.t_placed);
	}
	CHECK(!fw->overcommit);
	fake_destroy(&fw);
}

/*
 * Item 3, the other order: a second fork asked while the first one's
 * delta is being saved waits for that save to end and then gets a save
 * of its own (the parent's state when it asked), with no back-off and no
 * attempt used up. The parent ending meanwhile fails a waiting fork.
 */
static void t_i11_fork_during_save(void)
{
	struct fake_world *fw = world(3, 1, "least-loaded", "on-demand", 0);
	ukf_id_t p = manual_parent(fw), a = 0, b = 0, c = 0;

	CHECK_EQ(fake_fork(fw, p, 1, &a), 0);
	fake_run(fw, fw->now + UKF_MS / 2); /* the save takes 1 ms */
	CHECK_EQ(fake_fork(fw, p, 2, &b), 0);
	fake_run(fw, fw->now + UKF_S);
	CHECK_EQ(fake_log_count(fw, " retry "), 0);
	CHECK_EQ(fake_log_count(fw, "delta-wait"), 1);
	CHECK_EQ(fw->fail_hooks, 0);
	CHECK_EQ(fake_log_count(fw, "via=delta"), 2);
	CHECK(fw->inst[a].alive && fw->inst[b].alive);

	/* a fourth waits behind a third's save; the parent ends first */
	ukf_id_t d = 0;
	fake_exit(fw, a, 0);
	fake_exit(fw, b, 0);
	fake_run(fw, fw->now + UKF_S);
	CHECK_EQ(fake_fork(fw, p, 3, &c), 0);
	fake_run(fw, fw->now + UKF_MS / 2);
	CHECK_EQ(fake_fork(fw, p, 4, &d), 0);
	fake_exit(fw, p, 0);
	fake_run(fw, fw->now + UKF_S);
	CHECK(fake_rec(fw, c) && fake_rec(fw, d));
	if (fake_rec(fw, c) && fake_rec(fw, d)) {
		CHECK(!strcmp(fake_rec(fw, c)->why, "parent gone"));
		CHECK(!strcmp(fake_rec(fw, d)->why, "parent gone"));
	}
	CHECK_EQ(fw->fail_hooks, 2);
	fake_destroy(&fw);
}

/*
 * Item 5: a request that cannot be placed fails right after its last
 * attempt: with max_retries = 0 at the instant it was made, with 2 after
 * the back-offs between its 3 attempts (10 + 20 ms), not one more.
 */
static void t_i11_fail_at_last_attempt(void)
{
	for (uint32_t retries = 0; retries <= 2; retries += 2) {
		struct fake_world *fw =
		    world(1, 1, "least-loaded", "none", retries);
		ukf_id_t busy = 0, x = 0;
		const struct fake_rec *r;

		CHECK_EQ(fake_app(fw, "manual", "init=1ms"), 0);
		CHECK_EQ(fake_start(fw), 0);
		CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &busy), 0);
		fake_run(fw, 100 * UKF_MS);
		CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &x), 0);
		fake_run(fw, fw->now + UKF_S);
		r = fake_rec(fw, x);
		CHECK(r != NULL);
		if (r) {
			CHECK_EQ(r->r.status, UKF_STATUS_FAILED);
			CHECK_EQ(r->r.t_exit - r->r.t_request,
				 retries ? 30 * UKF_MS : 0);
		}
		CHECK_EQ(fake_log_count(fw, " retry "), retries);
		CHECK_EQ(fw->fail_hooks, 1);
		fake_destroy(&fw);
	}
}

/*
 * Item 4: a prewarm boot is a VM: on a 1-vCPU node it holds the vCPU and
 * its memory while it boots, so a request that comes meanwhile is not
 * started beside it; it has a row (a template boot: no request, cold,
 * template made) and gives its vCPU and memory back when the template is
 * made, whose bytes then count in the cache.
 */
static void t_i11_prewarm_boot_is_a_vm(void)
{
	struct fake_world *fw = world(1, 1, "least-loaded", "prewarm", 100);
	struct ukf_node_stats s;
	const struct ukf_record *b;
	const struct fake_rec *r;
	ukf_id_t x = 0;

	CHECK_EQ(fake_app(fw, "a", "init=50ms work=5ms mem=64M"), 0);
	CHECK_EQ(fake_start(fw), 0);
	CHECK_EQ(fake_log_count(fw, "template-boot app=a"), 1);
	CHECK_EQ(fake_stats(fw, 0, &s), 0);
	CHECK_EQ(s.vcpus_used, 1);
	CHECK_EQ(s.mem_used, 64ULL << 20);
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &x), 0);
	fake_run(fw, 10 * UKF_MS);
	CHECK_EQ(fake_stats(fw, 0, &s), 0);
	CHECK_EQ(s.vcpus_used, 1); /* the boot, not the request beside it */
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fake_log_count(fw, "via=wait-template"), 0);
	b = boot_row(fw, 0);
	r = fake_rec(fw, x);
	CHECK(b && r);
	if (b && r) {
		CHECK_EQ(b->status, 0);
		CHECK_EQ(b->start, UKF_START_COLD);
		CHECK_EQ(b->template_made, 1);
		CHECK_EQ(b->t_request, UKF_NS_NEVER);
		CHECK(b->t_ready != UKF_NS_NEVER && b->t_exit >= b->t_ready);
		CHECK(b->id != x);
		/* the request started from the template once it was made */
		CHECK_EQ(r->r.status, 0);
		CHECK_EQ(r->r.start, UKF_START_TEMPLATE);
		CHECK(r->r.t_start >= b->t_exit);
	}
	CHECK_EQ(boot_rows(fw), 1);
	CHECK_EQ(fake_stats(fw, 0, &s), 0);
	CHECK_EQ(s.vcpus_used, 0);
	CHECK_EQ(s.mem_used, 0);
	CHECK_EQ(s.cache_used, 64ULL << 20);
	CHECK(!fw->overcommit);
	fake_destroy(&fw);
}

/*
 * Item 4, a full node: a prewarm boot needs room of its own. Here app b
 * enters a 2-vCPU node's top 1 with the request that takes its last vCPU
 * (the other runs "manual"): no prewarm boot starts beside them; that
 * request boots cold and makes b's template itself.
 */
static void t_i11_prewarm_needs_room(void)
{
	struct fake_world *fw = world(1, 2, "least-loaded", "prewarm", 100);
	ukf_id_t x = 0, y = 0;

	fw->check_every_event = 1;
	CHECK_EQ(fake_app(fw, "manual", "init=1ms mem=1M"), 0);
	CHECK_EQ(fake_app(fw, "b", "init=10ms work=1ms mem=1M"), 1);
	CHECK_EQ(fake_start(fw), 0);
	fake_run(fw, UKF_NS_NEVER); /* manual's template, prewarmed */
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &x), 0);
	fake_run(fw, fw->now + 100 * UKF_MS);
	for (int k = 0; k < 4; k++) {
		CHECK_EQ(fake_spawn(fw, 0, 1, "", 0, &y), 0);
		fake_run(fw, fw->now + 100 * UKF_MS);
		CHECK(fake_rec(fw, y) && fake_rec(fw, y)->r.status == 0);
	}
	CHECK_EQ(fake_log_count(fw, "template-boot app=b node=0: no room"), 1);
	CHECK_EQ(fake_log_count(fw, "template-boot app=b node=0 inst"), 0);
	CHECK_EQ(fake_log_count(fw, "app=b origin=0 -> node=0 via=cold+template"),
		 1);
	CHECK_EQ(boot_rows(fw), 1); /* manual's, at the start */
	CHECK(!fw->overcommit);
	fake_destroy(&fw);
}

/*
 * Item 4, a remote fork to a node that must boot the template itself
 * (fetch = cold): the boot runs in the child's reservation (the child
 * cannot start before the template), so a 1-vCPU node is not
 * overcommitted and still serves the fork; when the child is killed
 * while the boot runs, the boot keeps that vCPU until its template is
 * made.
 */
static void t_i11_fork_boot_in_child_slot(void)
{
	struct ukf_engine_config c;
	char err[200];
	struct fake_world *fw;
	struct ukf_node_stats s;
	const struct ukf_record *b;
	ukf_id_t a = 0;

	ukf_engine_config_default(&c);
	c.nodes = 2;
	c.node.vcpus = 1;
	c.fetch = UKF_FETCH_COLD;
	/* a parent without a template: its delta is the whole image, which
	 * any template of the app serves (one with a template needs that
	 * one, brought from its node: test_core's engine_remote_fork) */
	c.templates = "none";
	fw = fake_create(&c, err, sizeof(err));
	CHECK(fw != NULL);
	if (!fw)
		return;
	fw->check_every_event = 1;
	CHECK_EQ(fake_app(fw, "fan", "init=10ms work=5ms fork=1 dirty=3"), 0);
	CHECK_EQ(fake_start(fw), 0);
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 1, &a), 0);
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fake_log_count(fw, "template-boot app=fan node=1"), 1);
	CHECK_EQ(boot_rows(fw), 1);
	b = boot_row(fw, 1);
	CHECK(b && b->status == 0 && b->template_made == 1);
	for (size_t i = 0; i < fw->nrecs; i++)
		if (!fw->recs[i].r.template_boot)
			CHECK_EQ(fw->recs[i].r.status, 0);
	CHECK_EQ(fw->nrecs, 3); /* parent, child, template boot */
	CHECK(!fw->overcommit);
	fake_destroy(&fw);

	/* the child killed while the boot runs for it */
	fw = fake_create(&c, err, sizeof(err));
	CHECK(fw != NULL);
	if (!fw)
		return;
	fw->check_every_event = 1;
	ukf_id_t p = 0, k = 0;
	/* (manual_parent's, but a cold parent: templates "none") */
	CHECK_EQ(fake_app(fw, "manual", "init=1ms mem=1M dirty=4"), 0);
	CHECK_EQ(fake_start(fw), 0);
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &p), 0);
	fake_run(fw, 100 * UKF_MS);
	/* node 0's only vCPU is the parent's: the fork goes to node 1 */
	CHECK_EQ(fake_fork(fw, p, 1, &k), 0);
	fake_run(fw, fw->now + 2 * UKF_MS); /* delta saved and sent */
	CHECK_EQ(fake_log_count(fw, "template-boot app=manual node=1"), 1);
	CHECK_EQ(fake_stats(fw, 1, &s), 0);
	CHECK_EQ(s.vcpus_used, 1);
	CHECK_EQ(fake_kill(fw, k), 0);
	fake_run(fw, fw->now + 100 * UKF_US);
	CHECK_EQ(fake_stats(fw, 1, &s), 0);
	CHECK_EQ(s.vcpus_used, 1); /* the boot still runs */
	CHECK_EQ(s.mem_used, 1ULL << 20);
	fake_run(fw, fw->now + UKF_S);
	CHECK_EQ(fake_stats(fw, 1, &s), 0);
	CHECK_EQ(s.vcpus_used, 0);
	CHECK_EQ(s.mem_used, 0);
	b = boot_row(fw, 1);
	CHECK(b && b->status == 0);
	CHECK(!fw->overcommit);
	fake_destroy(&fw);
}

/*
 * Item 4, the database: a template boot's row goes to template_boots,
 * not among the requests in instances (whose count, latency and start
 * fractions stay the requests').
 */
static void t_i11_template_boot_rows(void)
{
	char path[] = "/tmp/ukf-i11-XXXXXX";
	char file[64], err[300];
	int fd = mkstemp(path);
	ukf_db_t *db;
	sqlite3 *sq;
	sqlite3_stmt *st;
	int64_t run;
	struct ukf_run_info info = {.kind = "scenario", .scenario = "t",
				    .config = "c", .backend = "sim"};
	struct ukf_record req = {.id = 1, .app_name = "a", .node = 0,
				 .start = UKF_START_TEMPLATE, .t_request = 10,
				 .t_placed = 10, .t_start = 11, .t_ready = 20,
				 .t_exit = 30};
	struct ukf_record boot = {.id = 2, .app_name = "a", .node = 1,
				  .start = UKF_START_COLD, .template_made = 1,
				  .t_request = UKF_NS_NEVER,
				  .t_placed = UKF_NS_NEVER, .t_start = 0,
				  .t_ready = 5, .t_exit = 9,
				  .template_boot = 1};

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	unlink(path);
	snprintf(file, sizeof(file), "%s.db", path);
	db = ukf_db_open(file, err, sizeof(err));
	CHECK(db != NULL);
	if (!db)
		return;
	run = ukf_db_run_begin(db, &info);
	CHECK(run > 0);
	CHECK_EQ(ukf_db_instance(db, run, &req), 0);
	CHECK_EQ(ukf_db_instance(db, run, &boot), 0);
	CHECK_EQ(ukf_db_run_commit(db, run, 0.1, 2, 30), 0);
	ukf_db_close(&db);
	CHECK_EQ(sqlite3_open(file, &sq), SQLITE_OK);
	CHECK_EQ(sqlite3_prepare_v2(
		     sq,
		     "SELECT (SELECT group_concat(id) FROM instances),"
		     " (SELECT group_concat(id || ':' || node || ':' ||"
		     " template_made || ':' || t_start || ':' || t_ready ||"
		     " ':' || t_end || ':' || status) FROM template_boots)",
		     -1, &st, NULL),
		 SQLITE_OK);
	CHECK_EQ(sqlite3_step(st), SQLITE_ROW);
	const char *inst = (const char *)sqlite3_column_text(st, 0);
	const char *boots = (const char *)sqlite3_column_text(st, 1);
	CHECK(inst && !strcmp(inst, "1"));
	CHECK(boots && !strcmp(boots, "2:1:1:0:5:9:0"));
	sqlite3_finalize(st);
	sqlite3_close(sq);
	unlink(file);
	char aux[80];
	snprintf(aux, sizeof(aux), "%s-wal", file);
	unlink(aux);
	snprintf(aux, sizeof(aux), "%s-shm", file);
	unlink(aux);
}

static const struct fake_test tests[] = {
    {"forks_same_instant", t_i11_forks_same_instant},
    {"fork_during_save", t_i11_fork_during_save},
    {"fail_at_last_attempt", t_i11_fail_at_last_attempt},
    {"prewarm_boot_is_a_vm", t_i11_prewarm_boot_is_a_vm},
    {"prewarm_needs_room", t_i11_prewarm_needs_room},
    {"fork_boot_in_child_slot", t_i11_fork_boot_in_child_slot},
    {"template_boot_rows", t_i11_template_boot_rows},
};

int main(int argc, char **argv)
{
	return fake_test_main(tests, sizeof(tests) / sizeof(tests[0]),
			      &failures, "test_engine_i11", argc, argv);
}
