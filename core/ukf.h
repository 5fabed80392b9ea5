/* SPDX-License-Identifier: MIT */
/* ukf.h - common types of the ukfork engine: time, ids, applications. */
#ifndef UKF_H
#define UKF_H

#include <stddef.h>
#include <stdint.h>

#define UKF_VERSION "0.1.0"

/* Time is integer nanoseconds: virtual in simulation, CLOCK_MONOTONIC live. */
typedef int64_t ukf_ns_t;
#define UKF_US 1000LL
#define UKF_MS 1000000LL
#define UKF_S 1000000000LL
#define UKF_NS_NEVER INT64_MAX

/* Instance id: globally unique in a run, never 0. */
typedef uint64_t ukf_id_t;

/* Node index in the cluster, 0..nodes-1. */
typedef uint32_t ukf_node_id_t;
#define UKF_NODE_NONE UINT32_MAX

/* How an instance came to life. Stable values: stored in result databases. */
enum ukf_start {
	UKF_START_COLD = 0,        /* cold boot of the image */
	UKF_START_TEMPLATE = 1,    /* clone of the app's template */
	UKF_START_FORK = 2,        /* live fork of a running instance */
	UKF_START_UNKNOWN = 3
};
const char *ukf_start_name(enum ukf_start s);

/* 64-bit FNV-1a over n bytes, continuing from h (UKF_FNV_INIT to begin):
 * the digests a run's settings carry (scenario, trace and model files). */
#define UKF_FNV_INIT 0xcbf29ce484222325ULL
static inline uint64_t ukf_fnv1a(const void *p, size_t n, uint64_t h)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * An application, described by the same key=value string in both worlds:
 *   mem=64M init=50ms work=10ms dirty=256 fork=4 [units=1 vcpus=1 image=2M]
 * Units: sizes take K/M/G (binary), times take ns/us/ms/s (bare number = ms
 * for times, bytes for sizes). Unknown keys are an error.
 */
#define UKF_APP_NAME_MAX 64
#define UKF_APP_PATH_MAX 256
#define UKF_APP_ARGS_MAX 512
struct ukf_app {
	uint32_t id;                    /* index in the engine's app table */
	char name[UKF_APP_NAME_MAX];
	char image[UKF_APP_PATH_MAX];   /* guest image for real backends, or "" */
	char args[UKF_APP_ARGS_MAX];    /* the key=value string as given */
	uint64_t mem_bytes;             /* mem=   (default 64M) */
	ukf_ns_t init_ns;               /* init=  (default 50ms) */
	ukf_ns_t work_ns;               /* work=  (default 10ms) */
	uint32_t dirty_pages;           /* dirty= (default 256) pages per unit */
	uint32_t fork;                  /* fork=  (default 0) children per unit */
	uint32_t units;                 /* units= (default 1) units of work */
	uint32_t vcpus;                 /* vcpus= (default 1) */
	uint64_t image_bytes;           /* image= (default 2M) image size */
	/*
	 * Appended: a digest of what the app runs (its image's bytes, or its
	 * description), set by whoever registers it; messages name apps by
	 * name and digest, so nodes with different images of one name do not
	 * mix them. 0: unknown (matches any).
	 */
	uint64_t digest;
};

/*
 * Parse "key=value ..." into *app (defaults first, then the given keys).
 * Returns 0, or -1 with a message naming the bad key/value in err.
 */
int ukf_app_parse(struct ukf_app *app, const char *name, const char *kv,
		  char *err, size_t errlen);
/* Apply the keys of "key=value ..." (an instance's args) on top of *app
 * (app->args stays the app's). 0, or -1 with the bad key/value in err. */
int ukf_app_overlay(struct ukf_app *app, const char *kv, char *err,
		    size_t errlen);

/* Parse one size ("64M") or time ("50ms") value; 0 or -1. A time is
 * exact to the ns (decimal arithmetic, no double), below 9.2e18 ns;
 * without a unit it is in ms (ukf_parse_time) or in `unit` (1 for ns,
 * UKF_US, UKF_MS or UKF_S). */
int ukf_parse_size(const char *s, uint64_t *out);
int ukf_parse_time(const char *s, ukf_ns_t *out);
int ukf_parse_time_unit(const char *s, ukf_ns_t unit, ukf_ns_t *out);

/*
 * Write a printf-formatted reason into err[0..len) (always terminated when
 * len > 0); does nothing when err is NULL or len is 0. The error helper of
 * every module that reports into a caller's buffer (core/err.c).
 */
void ukf_seterr(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* n zeroed bytes, free()able; from 16 MiB on on transparent huge pages
 * when UKF_THP=1 is set (core/bigbuf.c). NULL when out of memory. */
void *ukf_big_calloc(size_t n);
/* Is UKF_THP=1 set (huge pages asked for)? */
int ukf_big_thp(void);

/*
 * 1 if v, found where an option's value belongs, is an option instead: a
 * long one ("--x": "--" alone is not) or one of the NULL-terminated shorts
 * (the command's own short options, e.g. {"-q", "-h", NULL}; shorts may be
 * NULL). An option there is a value forgotten (`--db --quiet` would store
 * into a file named --quiet): each command line refuses it with exit 2,
 * naming both (core/text.c).
 */
int ukf_arg_is_option(const char *v, const char *const *shorts);

/* Length of the valid UTF-8 sequence at s (1..4), 0 if s starts with an
 * invalid one. s must be NUL-terminated (core/text.c). */
size_t ukf_utf8_len(const unsigned char *s);

/*
 * The printable form of the character at s (NUL-terminated, *s not NUL),
 * for one line of a log, a table or a report: its own bytes, or a C escape
 * for a control character (\n, \r, \t, else \xHH; below 0x20 and 0x7f).
 * flags: UKF_ESC_UTF8, a character is a valid UTF-8 sequence and a byte
 * that starts none is escaped \xHH (without it each byte is a character, a
 * byte from 0x80 passed as it is); UKF_ESC_QUOTES, '"' and '\\' escaped too.
 * Returns the text (s itself, or e) with its length in *n; *k: the bytes
 * of s it stands for (>= 1). The escaper of `ukfork run --trace` and of
 * `ukfork report` (core/text.c).
 */
#define UKF_ESC_UTF8 1u
#define UKF_ESC_QUOTES 2u
const char *ukf_esc_char(const char *s, unsigned flags, char e[8], size_t *k,
			 size_t *n);

#endif /* UKF_H */
