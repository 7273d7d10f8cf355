// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * syscall-cpu.so: an LD_PRELOAD library that adds up the CPU time a process
 * spends inside its ioctl, poll, ppoll, read and write calls (ioctl by
 * request), as the calling thread's CPU clock sees it
 * (CLOCK_THREAD_CPUTIME_ID: kernel and user time of the thread, not the
 * time it sleeps). Each SIGUSR2 asks for a snapshot: the next wrapped call
 * appends one JSON line of the totals so far to $DMAPIPE_SYSCALL_CPU.
 * tests/vm/bench/measure --syscall-cpu sends one at each of its two marks
 * and differences them; under the instruction-counted clock
 * (tests/vm/bench/icount) the figures are instructions and repeat exactly.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 64

static struct slot {
	const char *call;
	unsigned long req;
	unsigned long n;
	unsigned long long ns;
} slots[SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t snapshot_wanted;

static unsigned long long thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void snapshot(void)
{
	const char *path = getenv("DMAPIPE_SYSCALL_CPU");
	FILE *f;
	int i;

	if (!path || !(f = fopen(path, "a")))
		return;
	fprintf(f, "{\"calls\": [");
	for (i = 0; i < SLOTS && slots[i].call; i++)
		fprintf(f, "%s{\"call\": \"%s\", \"req\": \"%#lx\", \"n\": %lu, \"ns\": %llu}", i ? ", " : "",
			slots[i].call, slots[i].req, slots[i].n, slots[i].ns);
	fprintf(f, "]}\n");
	fclose(f);
}

static void account(const char *call, unsigned long req, unsigned long long ns)
{
	static __thread int inside;	/* a snapshot's own writes are not the process's */
	int i;

	if (inside)
		return;
	inside = 1;
	pthread_mutex_lock(&lock);
	for (i = 0; i < SLOTS; i++) {
		if (!slots[i].call) {
			slots[i].call = call;
			slots[i].req = req;
		}
		if (slots[i].call == call && slots[i].req == req) {
			slots[i].n++;
			slots[i].ns += ns;
			break;
		}
	}
	if (snapshot_wanted) {
		snapshot_wanted = 0;
		snapshot();
	}
	pthread_mutex_unlock(&lock);
	inside = 0;
}

static void on_usr2(int sig)
{
	(void)sig;
	snapshot_wanted = 1;
}

__attribute__((constructor)) static void init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);
}

#define REAL(name) \
	static __typeof__(name) *real; \
	if (!real) \
		real = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

int ioctl(int fd, unsigned long req, ...)
{
	unsigned long long t;
	va_list ap;
	void *arg;
	int ret;

	REAL(ioctl);
	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	t = thread_ns();
	ret = real(fd, req, arg);
	account("ioctl", req, thread_ns() - t);
	return ret;
}

/* A wrapper that accounts a call with no request to "name". */
#define WRAP(type, name, params, args) \
	type name params \
	{ \
		unsigned long long t; \
		type ret; \
		REAL(name); \
		t = thread_ns(); \
		ret = real args; \
		account(#name, 0, thread_ns() - t); \
		return ret; \
	}

WRAP(int, poll, (struct pollfd *fds, nfds_t nfds, int timeout), (fds, nfds, timeout))
WRAP(int, ppoll, (struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *mask),
     (fds, nfds, tmo, mask))
WRAP(ssize_t, read, (int fd, void *buf, size_t count), (fd, buf, count))
WRAP(ssize_t, write, (int fd, const void *buf, size_t count), (fd, buf, count))
