/* SPDX-License-Identifier: MIT */
/* test_cluster.c - self-tests of the cluster file parser, secret key files, and
 * `ukfork keys`. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "agent/cluster.h"
#include "agent/keys.h"
#include "harness.h"
#include "tests/common/selftest.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char K0[41], K1[41], K2[41], KC[41], SC[41], S0[41], S1[41], S2[41];

static void make_keys(void)
{
	zmq_curve_keypair(K0, S0);
	zmq_curve_keypair(K1, S1);
	zmq_curve_keypair(K2, S2);
	zmq_curve_keypair(KC, SC);
}

/* A fresh temporary directory (removed by hand: tests leave it on
 * failure for a look). */
static char *tmpdir(char *buf, size_t n)
{
	snprintf(buf, n, "/tmp/ukf-agent-test-XXXXXX");
	return mkdtemp(buf);
}

static int write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	size_t n = strlen(text);

	if (fd < 0)
		return -1;
	if (write(fd, text, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	fchmod(fd, mode);
	return close(fd);
}

static int rm_rf(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* ---- a good file ---- */

static void good_text(char *out, size_t n)
{
	snprintf(out, n,
		 "# testbed cluster\n"
		 "[cluster]\n"
		 "name = testbed\n"
		 "directory = embedded          # embedded | etcd\n"
		 "heartbeat = 100ms\n"
		 "peer_timeout = 2s\n"
		 "bulk_window = 4\n"
		 "\n"
		 "[node 1]\n"
		 "endpoint = tcp://10.77.0.2:7700\n"
		 "public_key = %s\n"
		 "secret_key_file = keys/node1.key\n"
		 "\t\n"
		 "[node 0]\n"
		 "  endpoint=tcp://10.77.0.1:7700   \n"
		 "public_key = %s # its key\n"
		 "secret_key_file = /etc/ukfork/node0.key\n"
		 "backend = kvm\n"
		 "vcpus = 8\n"
		 "memory = 16G\n"
		 "cache = 4G\n"
		 "netns = ukf-n0\n"
		 "\n"
		 "[client runner]\n"
		 "public_key = %s\n"
		 "secret_key_file = keys/runner.key\n",
		 K1, K0, KC);
}

static int test_cluster_good(void)
{
	struct ukf_cluster *c;
	char text[4096], err[512];
	const struct ukf_cluster_node *n0, *n1;

	make_keys();
	good_text(text, sizeof(text));
	if (ukf_cluster_parse(&c, text, strlen(text), "/srv/tb/cluster.conf",
			      err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	CHECK(!strcmp(c->name, "testbed"));
	CHECK(c->directory == UKF_CLUSTER_DIR_EMBEDDED);
	CHECK(c->heartbeat_ns == 100 * UKF_MS &&
	      c->peer_timeout_ns == 2 * UKF_S);
	CHECK(c->bulk_window == 4 && c->bulk_chunk == 0);
	CHECK(c->compress == UKF_TP_COMPRESS_ZSTD);
	CHECK(c->nnodes == 2 && c->nclients == 1);
	n0 = ukf_cluster_node(c, 0);
	n1 = ukf_cluster_node(c, 1);
	CHECK(n0 && n1 && !ukf_cluster_node(c, 2));
	CHECK(n0->id == 0 && n1->id == 1); /* in id order */
	CHECK(!strcmp(n0->endpoint, "tcp://10.77.0.1:7700"));
	CHECK(!strcmp(n0->public_key, K0) && !strcmp(n1->public_key, K1));
	CHECK(!strcmp(n0->secret_key_file, "/etc/ukfork/node0.key"));
	CHECK(!strcmp(n1->secret_key_file, "/srv/tb/keys/node1.key"));
	CHECK(!strcmp(n0->backend, "kvm") && !strcmp(n1->backend, "kvm"));
	CHECK(n0->vcpus == 8 && n1->vcpus == 0);
	CHECK(n0->memory == 16ull << 30 && n0->cache == 4ull << 30);
	CHECK(!strcmp(n0->netns, "ukf-n0") && !n1->netns[0]);
	CHECK(n0->line == 14 && n1->line == 9);
	CHECK(ukf_cluster_client(c, "runner") && !ukf_cluster_client(c, "x"));
	CHECK(!strcmp(c->clients[0].public_key, KC));
	CHECK(
	    !strcmp(c->clients[0].secret_key_file, "/srv/tb/keys/runner.key"));
	CHECK(c->tp_peers[1].node == 1 &&
	      !strcmp(c->tp_peers[1].endpoint, "tcp://10.77.0.2:7700") &&
	      !strcmp(c->tp_peers[0].public_key, K0));
	CHECK(!strcmp(c->tp_client_keys[0], KC));
	ukf_cluster_destroy(&c);
	CHECK(c == NULL);

	/* etcd, with its keys; '#' inside a key is part of the key */
	snprintf(text, sizeof(text),
		 "[cluster]\nname=x\ndirectory = etcd\n"
		 "etcd_endpoints = https://10.0.0.1:2379,http://h:2379\n"
		 "etcd_prefix = /ukfork/x\netcd_ca = ca.pem\n"
		 "etcd_cert = c.pem\netcd_key = k.pem\ncompress = lz4\n"
		 "bulk_chunk = 1M\nbulk_max = 8G\n"
		 "[node 0]\nendpoint = ipc:///run/ukf0\npublic_key = "
		 "rq:rM>}U?@Lns47E1%%kR.o@n%%FcmmsL/@{H8]yf7\n"
		 "secret_key_file = k\n");
	if (ukf_cluster_parse(&c, text, strlen(text), "rel/c.conf", err,
			      sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	CHECK(c->directory == UKF_CLUSTER_DIR_ETCD);
	CHECK(!strcmp(c->etcd_prefix, "/ukfork/x"));
	CHECK(c->etcd_ca[0] == '/' && strstr(c->etcd_ca, "/rel/ca.pem"));
	CHECK(c->compress == UKF_TP_COMPRESS_LZ4);
	CHECK(c->bulk_chunk == 1 << 20 && c->bulk_max == 8ull << 30);
	CHECK(!strcmp(c->nodes[0].public_key,
		      "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"));
	ukf_cluster_destroy(&c);
	return 0;
}

/* ---- bad files: every kind of bad line, with its line number ---- */

struct bad {
	const char *text; /* %1$s..%4$s: K0, K1, K2, KC */
	const char *want; /* "LINE: words" expected after the file name */
};

#define HEAD "[cluster]\nname = t\n"
#define NODE0                                                                  \
	"[node 0]\nendpoint = tcp://h0:1\npublic_key = %1$s\nsecret_key_file " \
	"= k0\n"
#define NODE1                                                                  \
	"[node 1]\nendpoint = tcp://h1:1\npublic_key = %2$s\nsecret_key_file " \
	"= k1\n"

static const struct bad bads[] = {
    {"name = t\n" HEAD NODE0, ":1: name = ... before any [section]"},
    {HEAD "[nodes 0]\n", ":3: unknown section [nodes 0]"},
    {HEAD "[node x]\n", ":3: [node x]: expected a node id"},
    {HEAD "[node -1]\n", ":3: [node -1]: expected a node id"},
    {HEAD "[node 0\n", ":3: section line without ']'"},
    {HEAD "[cluster]\n", ":3: a second [cluster] section"},
    {HEAD "[cluster x]\n", ":3: [cluster] takes no name"},
    {HEAD "[client]\n", ":3: [client ]: expected a name"},
    {HEAD "[client a/b]\n", ":3: [client a/b]: expected a name"},
    {HEAD "just words\n", ":3: expected 'key = value' or a [section]"},
    {HEAD "= 5\n", ":3: a value without a key"},
    {HEAD "colour = red\n",
     ":3: unknown key 'colour' in [cluster] (known: name"},
    {HEAD "name = u\n", ":3: name set again in [cluster] (first at line 2)"},
    {HEAD "heartbeat =\n", ":3: heartbeat has no value"},
    {HEAD "heartbeat = # none\n", ":3: heartbeat has no value"},
    {"[cluster]\nname = test bed\n", ":2: name = test bed: one word expected"},
    {"[cluster]\nname = a/b\n", ":2: name = a/b: expected a name"},
    {HEAD "heartbeat = fast\n", ":3: heartbeat = fast: expected a time"},
    {HEAD "heartbeat = 0\n", ":3: heartbeat = 0: expected a time"},
    {HEAD "peer_timeout = 5 s\n", ":3: peer_timeout = 5 s: one word"},
    {HEAD "directory = zookeeper\n",
     ":3: directory = zookeeper: expected embedded | etcd"},
    {HEAD "compress = gzip\n",
     ":3: compress = gzip: expected zstd | lz4 | none"},
    {HEAD "bulk_window = 2000\n",
     ":3: bulk_window = 2000: expected a whole number 1..1024"},
    {HEAD "bulk_chunk = 100\n", ":3: bulk_chunk = 100: expected a size"},
    {HEAD "bulk_max = lots\n", ":3: bulk_max = lots: expected a size"},
    {HEAD "etcd_prefix = ukf\n",
     ":3: etcd_prefix = ukf: expected a key prefix starting with '/'"},
    {HEAD "etcd_endpoints = ftp://x\n",
     ":3: etcd_endpoints: 'ftp://x' is not an http"},
    {HEAD "etcd_endpoints = http://x,\n", ":3: etcd_endpoints: empty URL"},
    {HEAD "etcd_endpoints = http://x:2379\n" NODE0,
     ":3: etcd_endpoints needs directory = etcd"},
    {HEAD "directory = etcd\n" NODE0,
     ":3: directory = etcd needs etcd_endpoints"},
    {HEAD
     "directory = etcd\netcd_endpoints = http://e:1\netcd_cert = c\n" NODE0,
     ":5: etcd_cert and etcd_key go together"},
    {HEAD "heartbeat = 3s\n" NODE0,
     ":3: peer_timeout (3000 ms) must be longer than heartbeat (3000 ms)"},
    {HEAD "heartbeat = 1s\npeer_timeout = 500ms\n" NODE0,
     ":4: peer_timeout (500 ms) must be longer"},
    {HEAD "[node 0]\nendpoint = http://h:1\n",
     ":4: endpoint: 'http://h:1' is not tcp://HOST:PORT"},
    {HEAD "[node 0]\nendpoint = tcp://h\n",
     ":4: endpoint: 'tcp://h' is not tcp://HOST:PORT"},
    {HEAD "[node 0]\nendpoint = tcp://h:70000\n",
     ":4: endpoint: 'tcp://h:70000' is not"},
    {HEAD "[node 0]\nendpoint = tcp://*:7700\n",
     ":4: endpoint: 'tcp://*:7700': peers dial"},
    {HEAD "[node 0]\npublic_key = short\n",
     ":4: public_key: 'short' is not a CURVE key"},
    {HEAD "[node 0]\npublic_key = %1$s#\n", "is not a CURVE key"},
    {HEAD "[node 0]\nvcpus = 0\n",
     ":4: vcpus = 0: expected a whole number 1..4096"},
    {HEAD "[node 0]\nvcpus = -2\n", ":4: vcpus = -2: expected a whole number"},
    {HEAD "[node 0]\nvcpus = 8x\n", ":4: vcpus = 8x: expected a whole number"},
    {HEAD "[node 0]\nmemory = 16Q\n", ":4: memory = 16Q: expected a size"},
    {HEAD "[node 0]\nmemory = 1K\n", ":4: memory = 1K: expected a size"},
    {HEAD "[node 0]\nnetns = a:b\n", ":4: netns = a:b: expected a name"},
    {HEAD "[node 0]\nsecret_key_file = k\n", ":3: [node 0] has no endpoint"},
    {HEAD "[node 0]\nendpoint = tcp://h:1\nsecret_key_file = k\n[node 1]\n",
     ":3: [node 0] has no public_key"},
    {HEAD "[client r]\npublic_key = %4$s\n",
     ":3: [client r] has no secret_key_file"},
    {HEAD NODE0 "[node 0]\n", ":7: [node 0] again (first at line 3)"},
    {HEAD NODE0
     "[client r]\npublic_key = %4$s\nsecret_key_file = r\n[client r]\n",
     ":10: [client r] again (first at line 7)"},
    {HEAD NODE0 "[node 2]\nendpoint = tcp://h2:1\npublic_key = "
		"%3$s\nsecret_key_file = k\n",
     ":7: [node 2] but there is no [node 1]: node ids are 0..N-1"},
    {HEAD "[node 1]\nendpoint = tcp://h2:1\npublic_key = %3$s\nsecret_key_file "
	  "= k\n",
     ":3: [node 1] but there is no [node 0]"},
    {HEAD NODE0 "[node 1]\nendpoint = tcp://h0:1\npublic_key = "
		"%2$s\nsecret_key_file = k\n",
     ":7: [node 1] has the endpoint of [node 0] (tcp://h0:1)"},
    {HEAD NODE1 NODE0 "[node 2]\nendpoint = tcp://h2:1\npublic_key = "
		      "%2$s\nsecret_key_file = k\n",
     ":11: [node 2] has the public_key of [node 1]"},
    {HEAD NODE0 "[client r]\npublic_key = %1$s\nsecret_key_file = r\n",
     ":7: [client r] and [node 0] have the same public_key"},
    {HEAD NODE0 "[client r]\npublic_key = %4$s\nsecret_key_file = r\n"
		"[client s]\npublic_key = %4$s\nsecret_key_file = s\n",
     ":10: [client s] has the public_key of [client r]"},
    {"[cluster]\n" NODE0, ":1: [cluster] has no name"},
    {NODE0, ":4: no [cluster] section"},
    {HEAD, ":2: no [node 0] section"},
    {HEAD "name\x01 = x\n", ":3: control character 0x01"},
};

static int test_cluster_bad(void)
{
	char text[2048], err[512], path[] = "bad.conf";
	int fails = 0;

	make_keys();
	for (size_t i = 0; i < N(bads); i++) {
		struct ukf_cluster *c = NULL;
		char want[256];

		snprintf(text, sizeof(text), bads[i].text, K0, K1, K2, KC);
		snprintf(want, sizeof(want), "%s%s",
			 bads[i].want[0] == ':' ? "bad.conf" : "",
			 bads[i].want);
		err[0] = 0;
		if (ukf_cluster_parse(&c, text, strlen(text), path, err,
				      sizeof(err)) == 0) {
			fprintf(stderr, "case %zu accepted:\n%s\n", i, text);
			ukf_cluster_destroy(&c);
			fails++;
			continue;
		}
		/* "FILE:LINE: ..." exactly at the start when a line is given */
		if (c != NULL || !strstr(err, want) ||
		    (bads[i].want[0] == ':' &&
		     strncmp(err, want, strlen(want)))) {
			fprintf(stderr,
				"case %zu: got   '%s'\n         want  '%s'\n",
				i, err, want);
			fails++;
		}
	}
	/* a line over 4096 bytes */
	{
		struct ukf_cluster *c;
		char *big = malloc(6000);

		snprintf(big, 6000, HEAD "name = ");
		memset(big + strlen(big), 'x', 5000);
		big[strlen(HEAD "name = ") + 5000] = 0;
		CHECK(ukf_cluster_parse(&c, big, strlen(big), path, err,
					sizeof(err)) < 0);
		CHECK(strstr(err, "bad.conf:3: line longer than 4096 bytes"));
		free(big);
	}
	/* a file that is not there */
	{
		struct ukf_cluster *c;

		CHECK(ukf_cluster_load(&c, "/nonexistent/c.conf", err,
				       sizeof(err)) < 0);
		CHECK(!strcmp(
		    err, "/nonexistent/c.conf: No such file or directory"));
	}
	return fails ? 1 : 0;
}

/* ---- secret key files, ukfork keys, configurations from the file ---- */

static int keys(const char *dir, const char *name, int force)
{
	char *argv[] = {"ukfork keys",
			(char *)name,
			"--dir",
			(char *)dir,
			force ? "--force" : NULL,
			NULL};

	return ukf_keys_main(force ? 5 : 4, argv);
}

static int read_line(const char *path, char *out, size_t n)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -1;
	ok = fgets(out, (int)n, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	out[strcspn(out, "\n")] = 0;
	return 0;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) < 0 ? (mode_t)-1 : st.st_mode & 07777;
}

static int test_keys_files(void)
{
	char dir[64], p[256], q[256], key[64], pub[64], derived[41], again[64];
	char *help[] = {"k", "--help", NULL}, *none[] = {"k", NULL};
	char *two[] = {"k", "a", "b", NULL}, *opt[] = {"k", "a", "--x", NULL};
	char *nodir[] = {"k", "a", "--dir", NULL};
	char *badname[] = {"k", "../etc/x", NULL},
	     *dot[] = {"k", ".hidden", NULL};
	mode_t old = umask(0); /* modes must not depend on the umask */

	CHECK(tmpdir(dir, sizeof(dir)));
	CHECK(keys(dir, "node0", 0) == 0);
	snprintf(p, sizeof(p), "%s/node0.key", dir);
	snprintf(q, sizeof(q), "%s/node0.pub", dir);
	CHECK(mode_of(p) == 0600 && mode_of(q) == 0644);
	CHECK(read_line(p, key, sizeof(key)) == 0 && strlen(key) == 40);
	CHECK(read_line(q, pub, sizeof(pub)) == 0 && strlen(pub) == 40);
	CHECK(zmq_curve_public(derived, key) == 0 && !strcmp(derived, pub));
	/* refuses to overwrite, leaves both files as they were */
	CHECK(keys(dir, "node0", 0) == 1);
	CHECK(read_line(p, again, sizeof(again)) == 0 && !strcmp(again, key));
	/* also when only the .pub is there */
	snprintf(p, sizeof(p), "%s/lone.pub", dir);
	CHECK(write_file(p, "x\n", 0644) == 0);
	CHECK(keys(dir, "lone", 0) == 1);
	snprintf(p, sizeof(p), "%s/lone.key", dir);
	CHECK(mode_of(p) == (mode_t)-1);
	/* --force replaces, mode still 0600 even over a 0644 file */
	snprintf(p, sizeof(p), "%s/node0.key", dir);
	chmod(p, 0644);
	CHECK(keys(dir, "node0", 1) == 0);
	CHECK(mode_of(p) == 0600);
	CHECK(read_line(p, again, sizeof(again)) == 0 && strcmp(again, key));
	CHECK(read_line(q, pub, sizeof(pub)) == 0);
	CHECK(zmq_curve_public(derived, again) == 0 && !strcmp(derived, pub));
	/* a symlink planted at NAME.key is not followed */
	{
		char target[256], link[256], t[64];

		snprintf(target, sizeof(target), "%s/target", dir);
		snprintf(link, sizeof(link), "%s/sym.key", dir);
		CHECK(write_file(target, "precious\n", 0644) == 0);
		CHECK(symlink(target, link) == 0);
		CHECK(keys(dir, "sym", 0) == 1);
		CHECK(keys(dir, "sym", 1) == 0);
		CHECK(read_line(target, t, sizeof(t)) == 0 &&
		      !strcmp(t, "precious"));
		CHECK(mode_of(link) == 0600); /* a file now, not the link */
	}
	umask(077);
	CHECK(keys(dir, "masked", 0) == 0);
	snprintf(q, sizeof(q), "%s/masked.pub", dir);
	CHECK(mode_of(q) == 0644);
	umask(old);
	/* usage */
	CHECK(ukf_keys_main(2, help) == 0);
	CHECK(ukf_keys_main(1, none) == 2);
	CHECK(ukf_keys_main(3, two) == 2);
	CHECK(ukf_keys_main(3, opt) == 2);
	CHECK(ukf_keys_main(3, nodir) == 2);
	CHECK(ukf_keys_main(2, badname) == 2);
	CHECK(ukf_keys_main(2, dot) == 2);
	CHECK(keys("/nonexistent-ukf-dir", "a", 0) == 1);
	snprintf(p, sizeof(p), "%s/target", dir);
	CHECK(keys(p, "a", 0) == 1); /* not a directory */
	rm_rf(dir);
	return 0;
}

/* A cluster file in dir naming keys/nodeK.key and keys/runner.key, with
 * endpoints on free loopback ports. */
static int write_cluster(const char *dir, size_t nodes, char *path, size_t n)
{
	char kd[256], pubf[300], pub[64], text[8192];
	size_t at = 0;

	snprintf(kd, sizeof(kd), "%s/keys", dir);
	if (mkdir(kd, 0700) < 0)
		return -1;
	at += (size_t)snprintf(text + at, sizeof(text) - at,
			       "[cluster]\nname = t\nheartbeat = 50ms\n"
			       "peer_timeout = 2s\n");
	for (size_t i = 0; i < nodes; i++) {
		char name[32];

		snprintf(name, sizeof(name), "node%zu", i);
		if (keys(kd, name, 0) != 0)
			return -1;
		snprintf(pubf, sizeof(pubf), "%s/%s.pub", kd, name);
		if (read_line(pubf, pub, sizeof(pub)) < 0)
			return -1;
		at += (size_t)snprintf(
		    text + at, sizeof(text) - at,
		    "[node %zu]\nendpoint = tcp://127.0.0.1:%d\n"
		    "public_key = %s\nsecret_key_file = "
		    "keys/%s.key\n",
		    i, h_free_port(), pub, name);
	}
	if (keys(kd, "runner", 0) != 0)
		return -1;
	snprintf(pubf, sizeof(pubf), "%s/runner.pub", kd);
	if (read_line(pubf, pub, sizeof(pub)) < 0)
		return -1;
	snprintf(text + at, sizeof(text) - at,
		 "[client runner]\npublic_key = %s\n"
		 "secret_key_file = keys/runner.key\n",
		 pub);
	snprintf(path, n, "%s/cluster.conf", dir);
	return write_file(path, text, 0644);
}

/* err starts with the cluster file and names it only there (the rule
 * of every message of agent/cluster.c: callers print them as they are) */
static int named_once(const char *err, const char *path)
{
	size_t n = strlen(path);

	return !strncmp(err, path, n) && err[n] == ':' && !strstr(err + n, path);
}

static int test_cluster_secret(void)
{
	char dir[64], path[256], err[512], sec[41], p[300];
	struct ukf_cluster *c;

	CHECK(tmpdir(dir, sizeof(dir)));
	CHECK(write_cluster(dir, 2, path, sizeof(path)) == 0);
	if (ukf_cluster_load(&c, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	CHECK(ukf_cluster_load_secret(c, "node 0", sec, err, sizeof(err)) == 0);
	CHECK(ukf_tp_key_valid(sec));
	CHECK(ukf_cluster_load_secret(c, "client runner", sec, err,
				      sizeof(err)) == 0);
	/* who */
	CHECK(ukf_cluster_load_secret(c, "node 7", sec, err, sizeof(err)) < 0);
	CHECK(strstr(err, "no [node 7]"));
	CHECK(named_once(err, path));
	CHECK(ukf_cluster_load_secret(c, "client x", sec, err, sizeof(err)) <
	      0);
	CHECK(named_once(err, path));
	CHECK(ukf_cluster_load_secret(c, "runner", sec, err, sizeof(err)) < 0);
	CHECK(strstr(err, "expected \"node N\" or \"client NAME\""));
	CHECK(named_once(err, path));
	/* 0644 is refused, with the fix in the message */
	snprintf(p, sizeof(p), "%s/keys/node1.key", dir);
	CHECK(chmod(p, 0644) == 0);
	CHECK(ukf_cluster_load_secret(c, "node 1", sec, err, sizeof(err)) < 0);
	CHECK(strstr(err, "has mode 0644") && strstr(err, "chmod 600"));
	CHECK(named_once(err, path));
	CHECK(chmod(p, 0640) == 0);
	CHECK(ukf_cluster_load_secret(c, "node 1", sec, err, sizeof(err)) < 0);
	CHECK(named_once(err, path));
	CHECK(chmod(p, 0600) == 0);
	CHECK(ukf_cluster_load_secret(c, "node 1", sec, err, sizeof(err)) == 0);
	/* another node's secret, garbage, a directory, nothing */
	{
		char other[300];

		snprintf(other, sizeof(other), "%s/keys/node0.key", dir);
		CHECK(rename(other, p) == 0);
		CHECK(ukf_cluster_load_secret(c, "node 1", sec, err,
					      sizeof(err)) < 0);
		CHECK(strstr(err, "is not the secret key of the public_key of "
				  "[node 1]"));
		CHECK(named_once(err, path));
		CHECK(write_file(p, "not a key\n", 0600) == 0);
		CHECK(ukf_cluster_load_secret(c, "node 1", sec, err,
					      sizeof(err)) < 0);
		CHECK(strstr(err, "one line of 40 Z85"));
		CHECK(named_once(err, path));
		CHECK(unlink(p) == 0 && mkdir(p, 0700) == 0);
		CHECK(ukf_cluster_load_secret(c, "node 1", sec, err,
					      sizeof(err)) < 0);
		CHECK(strstr(err, "not a regular file"));
		CHECK(named_once(err, path));
		CHECK(ukf_cluster_load_secret(c, "node 0", sec, err,
					      sizeof(err)) < 0);
		CHECK(strstr(err, "No such file") && strstr(err, "[node 0]"));
		CHECK(named_once(err, path));
	}
	ukf_cluster_destroy(&c);
	rm_rf(dir);
	return 0;
}

struct seen {
	int msgs;
	uint32_t from;
	char body[32];
};

static void on_msg(void *u, uint32_t from, const struct ukf_frame_header *h,
		   const void *body, size_t len, const void *bulk,
		   size_t bulk_len)
{
	struct seen *s = u;

	s->msgs++;
	s->from = from;
	snprintf(s->body, sizeof(s->body), "%.*s", (int)len,
		 (const char *)body);
}

/* Transports made from a cluster file: two agents and the runner. */
static int test_cluster_tp(void)
{
	char dir[64], path[256], err[512];
	struct ukf_cluster *c;
	struct ukf_tp_config tc[3];
	struct seen s[3] = {{0}};
	ukf_tp_t *tp[3] = {0};
	const char *who[] = {"node 0", "node 1", "client runner"};

	CHECK(tmpdir(dir, sizeof(dir)));
	CHECK(write_cluster(dir, 2, path, sizeof(path)) == 0);
	CHECK(ukf_cluster_load(&c, path, err, sizeof(err)) == 0);
	for (int i = 0; i < 3; i++) {
		memset(&tc[i], 0, sizeof(tc[i]));
		tc[i].on_message = on_msg;
		tc[i].u = &s[i];
		if (ukf_cluster_tp_config(c, who[i], 100 + (uint64_t)i, &tc[i],
					  err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		CHECK(tc[i].on_message == on_msg && tc[i].u == &s[i]);
		CHECK(tc[i].heartbeat_ns == 50 * UKF_MS);
		tp[i] = ukf_tp_create(&tc[i], err, sizeof(err));
		if (!tp[i]) {
			fprintf(stderr, "%s: %s\n", who[i], err);
			return 1;
		}
	}
	CHECK(tc[0].self == 0 && tc[1].self == 1 &&
	      tc[2].self == UKF_FRAME_CLIENT);
	CHECK(tc[2].bind == NULL && tc[2].nclients == 0);
	CHECK(tc[0].nclients == 1 && tc[0].npeers == 2);
	CHECK(!strcmp(tc[1].bind, c->nodes[1].endpoint));
	ukf_cluster_destroy(&c); /* the transports copied what they need */
	/* node 0 -> node 1, runner -> node 1 */
	for (int i = 0; i < 20000 && (s[1].msgs < 2); i++) {
		if (i % 50 == 0) {
			ukf_tp_send(tp[0], 1, 9, "hi", 2, NULL, 0);
			if (ukf_tp_my_handle(tp[2], 1) != UKF_TP_HANDLE_NONE)
				ukf_tp_send(tp[2], 1, 130, "run", 3, NULL, 0);
		}
		for (int k = 0; k < 3; k++)
			ukf_tp_poll(tp[k], NULL, 0, 1000000);
	}
	CHECK(s[1].msgs >= 2);
	for (int i = 0; i < 3; i++)
		ukf_tp_destroy(&tp[i]);
	rm_rf(dir);
	return 0;
}

static const struct selftest tests[] = {
    {"cluster_good", test_cluster_good},     {"cluster_bad", test_cluster_bad},
    {"cluster_secret", test_cluster_secret}, {"cluster_tp", test_cluster_tp},
    {"keys_files", test_keys_files},
};

int main(int argc, char **argv)
{
	return selftest_main(tests, SELFTEST_COUNT(tests), argc, argv);
}
