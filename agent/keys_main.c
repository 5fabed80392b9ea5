/* SPDX-License-Identifier: MIT */
/* keys_main.c - ukf-keys: `ukfork keys` as a program of its own. */
#include "keys.h"

int main(int argc, char **argv)
{
	return ukf_keys_main(argc, argv);
}
