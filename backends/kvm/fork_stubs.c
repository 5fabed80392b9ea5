/* SPDX-License-Identifier: MIT */
/* fork_stubs.c - -ENOSYS template/clone/delta ops until template.c/clone.c land. */
#include <errno.h>

#include "ukvm_int.h"

int ukvm_make_template(void *b, ukf_node_id_t node, ukf_id_t inst,
		       uint32_t app)
{
	return -ENOSYS;
}

int ukvm_load_template(void *b, ukf_node_id_t node, uint32_t app,
		       const void *data, size_t bytes)
{
	return -ENOSYS;
}

void ukvm_drop_template(void *b, ukf_node_id_t node, uint32_t app)
{
}

int ukvm_clone_template(void *b, ukf_node_id_t node, ukf_id_t inst,
			const struct ukf_app *app, const char *args)
{
	return -ENOSYS;
}

int ukvm_clone_live(void *b, ukf_node_id_t node, ukf_id_t child,
		    ukf_id_t parent)
{
	return -ENOSYS;
}

int ukvm_save_delta(void *b, ukf_node_id_t node, ukf_id_t parent)
{
	return -ENOSYS;
}

int ukvm_restore_delta(void *b, ukf_node_id_t node, ukf_id_t child,
		       uint32_t app, const void *delta, size_t len,
		       uint64_t delta_bytes)
{
	return -ENOSYS;
}

void ukvm_templates_free(struct ukvm *m)
{
}

uint64_t ukvm_dirty_pages(struct ukvm_vm *vm)
{
	return 0;
}
