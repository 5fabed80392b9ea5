/* SPDX-License-Identifier: MIT */
/* wire_doc.c - ukf-wire-doc: print the engine messages' table (wire.c) as Markdown, or check a document holds it. */
#include "doccheck.h"
#include "wire.h"

/*
 * ukf-wire-doc            the table, as it goes between the markers
 * ukf-wire-doc --check F  exit 0 if F holds exactly that between its
 *                         markers, 1 (with the first differing line) if not
 */
int main(int argc, char **argv)
{
	return ukf_doc_main(argc, argv, "<!-- wire.c table: begin -->",
			    "<!-- wire.c table: end -->", ukf_wire_describe);
}
