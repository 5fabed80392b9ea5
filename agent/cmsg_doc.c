/* SPDX-License-Identifier: MIT */
/* cmsg_doc.c - ukf-cmsg-doc: print the client protocol's table (cmsg.c) as Markdown, or check a document holds it. */
#include "agent/cmsg.h"
#include "core/doccheck.h"

/* ukf-cmsg-doc [--check DOC.md], as ukf-wire-doc (core/doccheck.h). */
int main(int argc, char **argv)
{
	return ukf_doc_main(argc, argv, "<!-- cmsg.c table: begin -->",
			    "<!-- cmsg.c table: end -->", ukf_cmsg_describe);
}
