/* SPDX-License-Identifier: MIT */
/* ukforkd_main.c - ukforkd, the node agent, as a program of its own. */
#include "agent/agentd.h"

int main(int argc, char **argv)
{
	return ukf_agentd_main(argc, argv);
}
