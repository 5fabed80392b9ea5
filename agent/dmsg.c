/* SPDX-License-Identifier: MIT */
/* dmsg.c - the directory update's body, declared as a field table (core/codec.c). */
#include <string.h>

#include "agent/dmsg.h"
#include "core/codec.h"

static const struct ukf_field f_update[] = {
	UKF_FIELD("run", UKF_FK_U64, struct ukf_dmsg, run,
		  "the run the record belongs to"),
	UKF_FIELD_STR("record", UKF_FK_TEXT, struct ukf_dmsg, rec, rec_len,
		      1024, "the node's record, as core/dir.c encodes it"),
};

size_t ukf_dmsg_encode(const struct ukf_dmsg *d, void *buf, size_t cap)
{
	return ukf_fields_encode(f_update, 2, d, buf, cap);
}

int ukf_dmsg_decode(struct ukf_dmsg *d, const void *buf, size_t len,
		    int newer, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	return ukf_fields_decode(f_update, 2, d, buf, len, newer,
				 "directory update", err, errlen);
}
