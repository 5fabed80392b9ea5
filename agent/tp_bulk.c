/* SPDX-License-Identifier: MIT */
/* tp_bulk.c - bulk transfers: chunking, compression (zero/lz4/zstd), credit
 * flow control, reassembly. */
#include <errno.h>
#include <inttypes.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/ukf.h"
#include "tp_int.h"

#define ZSTD_LEVEL 1

int tp_bulk_init(ukf_tp_t *tp, char *err, size_t errlen)
{
	size_t a = ZSTD_compressBound(tp->c.bulk_chunk);
	size_t b = (size_t)LZ4_compressBound((int)tp->c.bulk_chunk);

	tp->scratch_cap = a > b ? a : b;
	tp->scratch = malloc(tp->scratch_cap);
	tp->zc = ZSTD_createCCtx();
	tp->zd = ZSTD_createDCtx();
	if (!tp->scratch || !tp->zc || !tp->zd) {
		snprintf(err, errlen, "out of memory (compression contexts)");
		return -1;
	}
	return 0;
}

void tp_bulk_fini(ukf_tp_t *tp)
{
	ZSTD_freeCCtx(tp->zc);
	ZSTD_freeDCtx(tp->zd);
	free(tp->scratch);
	tp->zc = tp->zd = NULL;
	tp->scratch = NULL;
}

static void tx_free(struct tp_tx *t)
{
	free(t->body);
	free(t->bulk);
	free(t);
}

static void rx_free(struct tp_rx *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->buf);
	free(r);
}

/* Drop p's head transfer (why for the log) and make the next one head. */
static void tx_abort_head(ukf_tp_t *tp, struct tp_peer *p, const char *why)
{
	struct tp_tx *t = p->tx_head;

	tp_log(tp, UKF_TP_LOG_WARNING,
	       "%s: bulk transfer %" PRIu64 " (%" PRIu64 " bytes) dropped: %s",
	       p->name, t->xfer, t->total, why);
	p->st.bulk_aborted++;
	p->tx_bytes -= t->total;
	p->tx_head = t->next;
	if (!p->tx_head)
		p->tx_tail = NULL;
	else
		p->tx_head->since_ns = tp_now();
	tx_free(t);
}

void tp_bulk_abort_all(ukf_tp_t *tp, struct tp_peer *p, const char *why)
{
	while (p->tx_head)
		tx_abort_head(tp, p, why);
	if (p->rx) {
		tp_log(tp, UKF_TP_LOG_WARNING,
		       "%s: incoming bulk transfer %" PRIu64 " dropped: %s",
		       p->name, p->rx->xfer, why);
		p->st.bulk_aborted++;
		rx_free(p->rx);
		p->rx = NULL;
	}
}

int tp_bulk_queue(ukf_tp_t *tp, struct tp_peer *p, uint16_t type,
		  const void *body, size_t len, void **bulk_p, size_t total)
{
	struct tp_tx *t;
	int rc = -ENOMEM;

	if (p->tx_bytes + total > tp->c.bulk_max) {
		rc = -ENOBUFS;
		goto fail;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		goto fail;
	if (len && !(t->body = malloc(len))) {
		free(t);
		goto fail;
	}
	if (len)
		memcpy(t->body, body, len);
	t->len = len;
	t->type = type;
	t->bulk = *bulk_p;
	*bulk_p = NULL;
	t->total = total;
	t->xfer = ++p->next_xfer;
	t->chunk = (uint32_t)tp->c.bulk_chunk;
	t->nchunks = (uint32_t)((total + t->chunk - 1) / t->chunk);
	t->since_ns = tp_now();
	if (p->tx_tail)
		p->tx_tail->next = t;
	else
		p->tx_head = t;
	p->tx_tail = t;
	p->tx_bytes += total;
	tp_bulk_pump(tp, p);
	return 0;
fail:
	free(*bulk_p);
	*bulk_p = NULL;
	return rc;
}

static int all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Choose a codec for raw[0..n) and produce its payload: *out points to
 * the bytes to send (raw itself or the scratch buffer). */
static uint16_t encode_chunk(ukf_tp_t *tp, const uint8_t *raw, size_t n,
			     const uint8_t **out, size_t *out_len)
{
	size_t pays = n * TP_COMPRESS_PAYS / 100;

	*out = raw;
	*out_len = n;
	if (tp->c.compress == UKF_TP_COMPRESS_NONE)
		return UKF_TP_CODEC_NONE;
	if (all_zero(raw, n)) {
		*out_len = 0;
		return UKF_TP_CODEC_ZERO;
	}
	if (tp->c.compress == UKF_TP_COMPRESS_LZ4) {
		int c =
		    LZ4_compress_default((const char *)raw, (char *)tp->scratch,
					 (int)n, (int)tp->scratch_cap);

		if (c > 0 && (size_t)c < pays) {
			*out = tp->scratch;
			*out_len = (size_t)c;
			return UKF_TP_CODEC_LZ4;
		}
	} else {
		size_t c = ZSTD_compressCCtx(
		    tp->zc, tp->scratch, tp->scratch_cap, raw, n, ZSTD_LEVEL);

		if (!ZSTD_isError(c) && c > 0 && c < pays) {
			*out = tp->scratch;
			*out_len = c;
			return UKF_TP_CODEC_ZSTD;
		}
	}
	return UKF_TP_CODEC_NONE;
}

/* Send chunk t->next_idx. 0, or -errno (-EAGAIN: try again later). */
static int send_chunk(ukf_tp_t *tp, struct tp_peer *p, struct tp_tx *t)
{
	uint64_t off = (uint64_t)t->next_idx * t->chunk;
	size_t raw =
	    (size_t)(t->total - off < t->chunk ? t->total - off : t->chunk);
	struct ukf_tpm_chunk m = {
	    .xfer = t->xfer, .index = t->next_idx, .raw_len = (uint32_t)raw};
	const uint8_t *payload;
	size_t plen;
	uint8_t body[32];
	int n, rc;

	m.codec = encode_chunk(tp, t->bulk + off, raw, &payload, &plen);
	m.wire_len = (uint32_t)plen;
	n = ukf_tpm_encode(UKF_TPM_CHUNK, &m, body, sizeof(body));
	if (n < 0)
		return -EINVAL;
	rc = tp_send_frames(tp, p, UKF_TP_T_BULK_CHUNK, 0, body, (size_t)n,
			    payload, plen);
	if (rc < 0)
		return rc;
	t->next_idx++;
	p->st.chunks_out++;
	p->st.bulk_raw_out += raw;
	p->st.bulk_wire_out += UKF_FRAME_HEADER + (size_t)n + plen;
	if (t->next_idx - t->consumed > p->st.inflight_max)
		p->st.inflight_max = t->next_idx - t->consumed;
	return 0;
}

static int announce(ukf_tp_t *tp, struct tp_peer *p, struct tp_tx *t)
{
	struct ukf_tpm_desc d = {.xfer = t->xfer,
				 .total = t->total,
				 .chunk = t->chunk,
				 .nchunks = t->nchunks};
	uint8_t f1[32];
	int n = ukf_tpm_encode(UKF_TPM_DESC, &d, f1, sizeof(f1)), rc;

	if (n < 0)
		return -EINVAL;
	rc = tp_send_frames(tp, p, t->type, UKF_FRAME_F_BULK, t->body, t->len,
			    f1, (size_t)n);
	if (rc == 0) {
		t->announced = 1;
		t->since_ns = tp_now();
		p->st.bulk_wire_out += UKF_FRAME_HEADER + t->len + (size_t)n;
	}
	return rc;
}

void tp_bulk_pump(ukf_tp_t *tp, struct tp_peer *p)
{
	while (p->tx_head) {
		struct tp_tx *t = p->tx_head;
		int rc = 0;

		if (!t->announced)
			rc = announce(tp, p, t);
		while (rc == 0 && t->next_idx < t->limit &&
		       t->next_idx < t->nchunks)
			rc = send_chunk(tp, p, t);
		if (rc == -EAGAIN) {
			p->need_out = 1;
			return;
		}
		if (rc < 0) {
			char why[96];

			snprintf(why, sizeof(why), "send: %s", strerror(-rc));
			tx_abort_head(tp, p, why);
			continue;
		}
		if (t->next_idx < t->nchunks)
			return; /* waiting for credit */
		/* Every chunk is out: the next bulk message may start. */
		p->st.bulk_out++;
		p->st.msgs_out++;
		p->tx_bytes -= t->total;
		p->tx_head = t->next;
		if (!p->tx_head)
			p->tx_tail = NULL;
		else
			p->tx_head->since_ns = tp_now();
		tx_free(t);
	}
}

static void send_credit(ukf_tp_t *tp, struct tp_peer *p, uint64_t xfer,
			uint32_t consumed, uint32_t limit, uint32_t status)
{
	struct ukf_tpm_credit c = {.xfer = xfer,
				   .consumed = consumed,
				   .limit = limit,
				   .status = status};

	tp_send_tpm(tp, p, UKF_TPM_CREDIT, &c);
}

/* Give up the incoming transfer and tell the sender. */
static void rx_abort(ukf_tp_t *tp, struct tp_peer *p, const char *why)
{
	struct tp_rx *r = p->rx;

	tp_log(tp, UKF_TP_LOG_WARNING,
	       "%s: incoming bulk transfer %" PRIu64 " dropped: %s", p->name,
	       r->xfer, why);
	send_credit(tp, p, r->xfer, r->next_idx, r->next_idx,
		    UKF_TP_CREDIT_ABORTED);
	p->st.bulk_aborted++;
	rx_free(r);
	p->rx = NULL;
}

void tp_bulk_on_message(ukf_tp_t *tp, struct tp_peer *p,
			const struct ukf_frame_header *h, const void *body,
			const void *f1, size_t f1_len)
{
	struct ukf_tpm_desc d;
	struct tp_rx *r;
	char err[160];

	if (ukf_tpm_decode(UKF_TPM_DESC, &d, f1, f1_len,
			   h->version > UKF_FRAME_VERSION, h, err,
			   sizeof(err)) < 0) {
		tp_drop(tp, p, UKF_TP_DROP_MALFORMED, "%s", err);
		return;
	}
	if (p->rx) /* the sender moved on: what we had is lost */
		rx_abort(tp, p, "a new transfer started before it ended");
	if (d.total > tp->c.bulk_max) {
		tp_drop(tp, p, UKF_TP_DROP_OVERSIZED,
			"bulk of %" PRIu64 " bytes over bulk_max %" PRIu64,
			d.total, tp->c.bulk_max);
		send_credit(tp, p, d.xfer, 0, 0, UKF_TP_CREDIT_REFUSED);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (r && h->length)
		r->body = malloc(h->length);
	/* calloc of a large buffer maps zero pages: chunks of zeros cost
	 * nothing until written. */
	if (r)
		r->buf = ukf_big_calloc((size_t)d.total); /* UKF_THP=1: huge pages (core/bigbuf.c) */
	if (!r || (h->length && !r->body) || !r->buf) {
		tp_log(tp, UKF_TP_LOG_ERR,
		       "%s: no memory for a bulk transfer of %" PRIu64 " bytes",
		       p->name, d.total);
		rx_free(r);
		send_credit(tp, p, d.xfer, 0, 0, UKF_TP_CREDIT_REFUSED);
		return;
	}
	if (h->length)
		memcpy(r->body, body, h->length);
	r->h = *h;
	r->xfer = d.xfer;
	r->total = d.total;
	r->chunk = d.chunk;
	r->nchunks = d.nchunks;
	r->limit = d.nchunks < tp->c.bulk_window ? d.nchunks
						 : (uint32_t)tp->c.bulk_window;
	r->wire = UKF_FRAME_HEADER + h->length + f1_len;
	r->progress_ns = tp_now();
	p->rx = r;
	send_credit(tp, p, r->xfer, 0, r->limit, UKF_TP_CREDIT_OK);
}

static int decode_payload(ukf_tp_t *tp, const struct ukf_tpm_chunk *m,
			  const void *src, uint8_t *dst)
{
	switch (m->codec) {
	case UKF_TP_CODEC_NONE:
		memcpy(dst, src, m->raw_len);
		return 0;
	case UKF_TP_CODEC_ZERO:
		return 0; /* the buffer started zeroed, chunks arrive once */
	case UKF_TP_CODEC_LZ4:
		return LZ4_decompress_safe(src, (char *)dst, (int)m->wire_len,
					   (int)m->raw_len) == (int)m->raw_len
			   ? 0
			   : -1;
	default: {
		size_t n = ZSTD_decompressDCtx(tp->zd, dst, m->raw_len, src,
					       m->wire_len);

		return !ZSTD_isError(n) && n == m->raw_len ? 0 : -1;
	}
	}
}

static void rx_complete(ukf_tp_t *tp, struct tp_peer *p)
{
	struct tp_rx *r = p->rx;

	p->rx = NULL;
	if (p->up_pending)
		tp_report_up(tp, p);
	p->st.bulk_in++;
	p->st.msgs_in++;
	p->st.bulk_wire_in += r->wire;
	tp->cb_bulk = r->buf;
	tp->cb_taken = 0;
	if (tp->c.on_message)
		tp->c.on_message(tp->c.u, p->id, &r->h, r->body, r->h.length,
				 r->buf, (size_t)r->total);
	if (tp->cb_taken)
		r->buf = NULL;
	tp->cb_bulk = NULL;
	tp->cb_taken = 0;
	rx_free(r);
}

void tp_bulk_on_chunk(ukf_tp_t *tp, struct tp_peer *p,
		      const struct ukf_frame_header *h, const void *body,
		      const void *f1, size_t f1_len)
{
	struct ukf_tpm_chunk m;
	struct tp_rx *r = p->rx;
	uint64_t off;
	char err[160];

	if (ukf_tpm_decode(UKF_TPM_CHUNK, &m, body, h->length,
			   h->version > UKF_FRAME_VERSION, h, err,
			   sizeof(err)) < 0) {
		tp_drop(tp, p, UKF_TP_DROP_MALFORMED, "%s", err);
		return;
	}
	if (m.wire_len != f1_len) {
		tp_drop(tp, p, UKF_TP_DROP_MALFORMED,
			"bulk chunk: wire_len %" PRIu32 " but %zu bytes",
			m.wire_len, f1_len);
		return;
	}
	if (!r || m.xfer != r->xfer) {
		/* An aborted transfer's chunks still on their way land here
		 * too: counted, logged once. */
		tp_drop(tp, p, UKF_TP_DROP_BULK,
			"chunk of transfer %" PRIu64 " that is not in progress",
			m.xfer);
		return;
	}
	off = (uint64_t)m.index * r->chunk;
	if (m.index != r->next_idx || m.index >= r->limit ||
	    m.raw_len !=
		(r->total - off < r->chunk ? r->total - off : r->chunk)) {
		tp_drop(tp, p, UKF_TP_DROP_BULK,
			"chunk %" PRIu32 " of %" PRIu32
			" bytes; expected chunk %" PRIu32
			" below credit %" PRIu32,
			m.index, m.raw_len, r->next_idx, r->limit);
		rx_abort(tp, p,
			 "chunk out of order, over credit or wrong size");
		return;
	}
	if (decode_payload(tp, &m, f1, r->buf + off) < 0) {
		tp_drop(tp, p, UKF_TP_DROP_BULK,
			"chunk %" PRIu32 " does not decompress to %" PRIu32
			" bytes",
			m.index, m.raw_len);
		rx_abort(tp, p, "bad chunk data");
		return;
	}
	r->next_idx++;
	r->wire += UKF_FRAME_HEADER + h->length + f1_len;
	r->progress_ns = tp_now();
	p->st.bulk_raw_in += m.raw_len;
	if (r->next_idx == r->nchunks) {
		rx_complete(tp, p);
		return;
	}
	/* One credit back per chunk taken. */
	r->limit = r->next_idx + (uint32_t)tp->c.bulk_window;
	if (r->limit > r->nchunks)
		r->limit = r->nchunks;
	send_credit(tp, p, r->xfer, r->next_idx, r->limit, UKF_TP_CREDIT_OK);
}

void tp_bulk_on_credit(ukf_tp_t *tp, struct tp_peer *p,
		       const struct ukf_frame_header *h, const void *body)
{
	struct ukf_tpm_credit c;
	struct tp_tx *t = p->tx_head;
	char err[160];

	if (ukf_tpm_decode(UKF_TPM_CREDIT, &c, body, h->length,
			   h->version > UKF_FRAME_VERSION, h, err,
			   sizeof(err)) < 0) {
		tp_drop(tp, p, UKF_TP_DROP_MALFORMED, "%s", err);
		return;
	}
	if (!t || !t->announced || c.xfer != t->xfer)
		return; /* for a transfer already finished or dropped */
	if (c.status != UKF_TP_CREDIT_OK) {
		tx_abort_head(tp, p,
			      c.status == UKF_TP_CREDIT_REFUSED
				  ? "the receiver refused it"
				  : "the receiver gave up on it");
		tp_bulk_pump(tp, p);
		return;
	}
	if (c.consumed > t->next_idx) {
		tp_drop(tp, p, UKF_TP_DROP_BULK,
			"credit says %" PRIu32 " chunks consumed, %" PRIu32
			" sent",
			c.consumed, t->next_idx);
		return;
	}
	if (c.consumed > t->consumed)
		t->consumed = c.consumed;
	if (c.limit > t->limit)
		t->limit = c.limit < t->nchunks ? c.limit : t->nchunks;
	t->since_ns = tp_now();
	tp_bulk_pump(tp, p);
}

int64_t tp_bulk_tick(ukf_tp_t *tp, struct tp_peer *p, int64_t now)
{
	int64_t due = INT64_MAX, to = tp->c.peer_timeout_ns;

	if (p->rx && now - p->rx->progress_ns >= to)
		rx_abort(tp, p, "no chunk for the peer timeout");
	if (p->rx)
		due = p->rx->progress_ns + to;
	if (p->tx_head && now - p->tx_head->since_ns >= to) {
		while (p->tx_head && now - p->tx_head->since_ns >= to)
			tx_abort_head(
			    tp, p,
			    p->tx_head->announced
				? "no credit for the peer timeout"
				: "could not start it for the peer timeout");
		tp_bulk_pump(tp, p);
	}
	if (p->tx_head && p->tx_head->since_ns + to < due)
		due = p->tx_head->since_ns + to;
	return due;
}
