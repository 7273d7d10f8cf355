/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * killpoint: an LD_PRELOAD shim that SIGKILLs its process at one chosen
 * ioctl, for tests/vm/reliability/kill.sh.
 *
 *   DMAPIPE_KILLPOINT=NAME:N:WHEN
 *	NAME	one of the requests in points[] below (VIDIOC_S_FMT, ...)
 *	N	the 1-based count of that request in the process
 *	WHEN	before or after the real call
 *   DMAPIPE_KILLPOINT_TRACE=FILE
 *	at a normal exit, append "NAME COUNT" for each request seen to FILE
 *	(how kill.sh learns the range of N a run reaches)
 *
 * At the point it writes one line to stderr and raise(SIGKILL)s: a real
 * SIGKILL, so the kernel sees exactly what a watchdog's kill leaves behind
 * (no destructor, no atexit, no close by the process). Both variables are
 * removed from the environment at load, so children (gst-plugin-scanner)
 * carry the shim unarmed.
 *
 * The shim interposes ioctl() itself: libdrm's drmIoctl() and libdmapipe's
 * own calls both reach it through the PLT (nm -D shows "U ioctl" in each).
 */
#include <dlfcn.h>
#include <drm.h>
#include <drm_mode.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-heap.h>
#include <linux/videodev2.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define POINT(req) { #req, req, 0 }

static struct point {
	const char *name;
	unsigned long req;
	atomic_uint count;
} points[] = {
	POINT(VIDIOC_S_FMT),
	POINT(VIDIOC_S_PARM),
	POINT(VIDIOC_REQBUFS),
	POINT(VIDIOC_EXPBUF),
	POINT(VIDIOC_PREPARE_BUF),
	POINT(VIDIOC_QBUF),
	POINT(VIDIOC_DQBUF),
	POINT(VIDIOC_STREAMON),
	POINT(VIDIOC_STREAMOFF),
	POINT(DMA_HEAP_IOCTL_ALLOC),
	POINT(DRM_IOCTL_MODE_CREATE_DUMB),
	POINT(DRM_IOCTL_PRIME_HANDLE_TO_FD),
	POINT(DRM_IOCTL_PRIME_FD_TO_HANDLE),
	POINT(DRM_IOCTL_MODE_ADDFB2),
	POINT(DRM_IOCTL_MODE_ATOMIC),
	POINT(DRM_IOCTL_MODE_RMFB),
};

#define NPOINTS (sizeof(points) / sizeof(points[0]))

typedef int (*ioctl_fn)(int, unsigned long, ...);

static ioctl_fn real_ioctl;
static int armed = -1; /* index into points[], -1: none */
static unsigned int armed_n;
static int armed_after;
static char trace_path[4096];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void say(const char *msg)
{
	size_t len = strlen(msg);

	while (len) {
		ssize_t n = write(STDERR_FILENO, msg, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		msg += n;
		len -= (size_t)n;
	}
}

static void bad_spec(const char *spec)
{
	char msg[512];

	snprintf(msg, sizeof(msg),
		 "killpoint: bad DMAPIPE_KILLPOINT \"%s\" (want NAME:N:before|after)\n", spec);
	say(msg);
	_exit(2);
}

static void setup(void)
{
	const char *spec = getenv("DMAPIPE_KILLPOINT");
	const char *trace = getenv("DMAPIPE_KILLPOINT_TRACE");

	real_ioctl = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
	if (!real_ioctl) {
		say("killpoint: dlsym(RTLD_NEXT, \"ioctl\") found nothing\n");
		_exit(2);
	}
	if (trace && *trace)
		snprintf(trace_path, sizeof(trace_path), "%s", trace);
	if (spec && *spec) {
		const char *colon = strchr(spec, ':');
		char *end;
		unsigned long n;
		size_t i;

		if (!colon)
			bad_spec(spec);
		for (i = 0; i < NPOINTS; i++)
			if (strlen(points[i].name) == (size_t)(colon - spec) &&
			    !strncmp(points[i].name, spec, (size_t)(colon - spec)))
				break;
		if (i == NPOINTS)
			bad_spec(spec);
		errno = 0;
		n = strtoul(colon + 1, &end, 10);
		if (errno || n == 0 || n > 1000000000 || *end != ':')
			bad_spec(spec);
		if (!strcmp(end + 1, "after"))
			armed_after = 1;
		else if (strcmp(end + 1, "before"))
			bad_spec(spec);
		armed_n = (unsigned int)n;
		armed = (int)i;
	}
	unsetenv("DMAPIPE_KILLPOINT");
	unsetenv("DMAPIPE_KILLPOINT_TRACE");
}

__attribute__((constructor)) static void killpoint_init(void)
{
	pthread_once(&once, setup);
}

__attribute__((destructor)) static void killpoint_fini(void)
{
	char line[128];
	size_t i;
	int fd;

	if (!trace_path[0])
		return;
	fd = open(trace_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	for (i = 0; i < NPOINTS; i++) {
		unsigned int c = atomic_load(&points[i].count);
		int len;

		if (!c)
			continue;
		len = snprintf(line, sizeof(line), "%s %u\n", points[i].name, c);
		if (write(fd, line, (size_t)len) != len)
			break;
	}
	close(fd);
}

static void die_here(const struct point *p, unsigned int n, const char *when)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "killpoint: SIGKILL at %s #%u %s\n", p->name, n, when);
	say(msg);
	raise(SIGKILL);
}

int ioctl(int fd, unsigned long req, ...)
{
	struct point *p = NULL;
	unsigned int n = 0;
	va_list ap;
	void *arg;
	int ret, err;
	size_t i;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);

	pthread_once(&once, setup);
	for (i = 0; i < NPOINTS; i++) {
		if (points[i].req == req) {
			p = &points[i];
			n = atomic_fetch_add(&p->count, 1) + 1;
			break;
		}
	}
	if (p && (int)i == armed && n == armed_n && !armed_after)
		die_here(p, n, "before");
	ret = real_ioctl(fd, req, arg);
	if (p && (int)i == armed && n == armed_n && armed_after) {
		err = errno;
		die_here(p, n, "after");
		errno = err;
	}
	return ret;
}
