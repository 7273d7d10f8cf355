// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * LD_PRELOAD shim for fault-pipeline.sh: with DMAPIPE_MAKE_IT_FAIL=1 the
 * process marks itself for the kernel's task-filtered fault injection
 * (/proc/thread-self/make-it-fail) before main(), after the dynamic loader
 * is done, so failures land in the program and not in execve. Threads and
 * children inherit the mark.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void make_it_fail(void)
{
	const char *on = getenv("DMAPIPE_MAKE_IT_FAIL");
	int fd;

	if (!on || strcmp(on, "1") != 0)
		return;
	fd = open("/proc/thread-self/make-it-fail", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1", 1) != 1)
		_exit(125); /* the test must not pass by injecting nothing */
	close(fd);
}
