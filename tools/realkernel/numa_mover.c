/*
 * A task that touches memory first on one node, then is moved: for the
 * 6.1 guest of ../shared/realkernel (2 nodes, 1 CPU each), to compare its
 * NUMA balancing counters with numasim's for the same shape of run.
 *
 *   numa_mover MIB SECONDS_BEFORE SECONDS_AFTER
 *
 * Pins itself to CPU 0 (node 0), faults MIB of anonymous memory in (no
 * THP: MADV_NOHUGEPAGE, so base pages only), keeps touching all of it
 * for SECONDS_BEFORE, then pins itself to CPU 1 (node 1, as
 * sched_setaffinity() moves it) and keeps touching it for SECONDS_AFTER.
 * Every half second it prints the pages of its mapping per node (from
 * move_pages(2) queries, status only) and the vmstat numa_* counters.
 * Build: gcc -O2 -static -o numa_mover numa_mover.c
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	if (sched_setaffinity(0, sizeof(s), &s))
		perror("sched_setaffinity");
}

static void vmstat(const char *tag)
{
	char line[256];
	FILE *f = fopen("/proc/vmstat", "r");
	if (!f)
		return;
	printf("%s vmstat", tag);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "numa_pte_updates", 16) || !strncmp(line, "numa_hint_faults", 16) ||
		    !strncmp(line, "numa_pages_migrated", 19) || !strncmp(line, "pgmigrate_success", 17)) {
			line[strcspn(line, "\n")] = 0;
			printf(" %s", line);
		}
	}
	printf("\n");
	fclose(f);
}

static void nodes(const char *tag, char *p, long pages)
{
	void **addr = malloc(pages * sizeof(void *));
	int *status = malloc(pages * sizeof(int));
	long n[4] = { 0 };
	for (long i = 0; i < pages; i++)
		addr[i] = p + i * 4096;
	/* move_pages() with nodes == NULL reports where each page is. */
	if (syscall(SYS_move_pages, 0, pages, addr, NULL, status, 0) == 0)
		for (long i = 0; i < pages; i++)
			if (status[i] >= 0 && status[i] < 4)
				n[status[i]]++;
	printf("%s N0=%ld N1=%ld\n", tag, n[0], n[1]);
	free(addr);
	free(status);
}

int main(int argc, char **argv)
{
	long mib = argc > 1 ? atol(argv[1]) : 32;
	double before = argc > 2 ? atof(argv[2]) : 3, after = argc > 3 ? atof(argv[3]) : 10;
	long pages = mib * 256;
	pin(0);
	char *p = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	madvise(p, pages * 4096, MADV_NOHUGEPAGE);
	memset(p, 1, pages * 4096);
	double t0 = now(), next = t0;
	int moved = 0;
	vmstat("start");
	nodes("t=0.0", p, pages);
	for (;;) {
		double t = now() - t0;
		if (!moved && t >= before) {
			pin(1);
			moved = 1;
			printf("moved to CPU 1 at t=%.1f\n", t);
		}
		if (t >= before + after)
			break;
		for (long i = 0; i < pages; i += 1)
			p[i * 4096]++;
		if (now() >= next) {
			char tag[32];
			snprintf(tag, sizeof(tag), "t=%.1f", t);
			nodes(tag, p, pages);
			vmstat(tag);
			next += 0.5;
		}
	}
	vmstat("end");
	nodes("end", p, pages);
	return 0;
}
