// Free pages and reported free blocks of a running kernel, from
// /proc/kpageflags: KPF_BUDDY (bit 10) is set on every page of a free
// buddy block (stable_page_flags(): PageBuddy() on the head,
// is_free_buddy_page() on the rest); KPF_UPTODATE (bit 3) is the raw
// PG_uptodate bit, which PG_reported aliases (include/linux/page-flags.h),
// and is set only on the head of a free block that was reported.
// Build: gcc -static -O2 -o kpf_reported kpf_reported.c
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv) {
    FILE *f = fopen("/proc/kpageflags", "rb");
    if (!f) {
        perror("/proc/kpageflags");
        return 1;
    }
    uint64_t v, pfns = 0, free_pages = 0, reported = 0;
    while (fread(&v, sizeof v, 1, f) == 1) {
        if (v & (1ULL << 10)) {
            free_pages++;
            if (v & (1ULL << 3))
                reported++;
        }
        pfns++;
    }
    printf("%s pfns %llu free_pages %llu reported_blocks %llu\n", argc > 1 ? argv[1] : "",
           (unsigned long long)pfns, (unsigned long long)free_pages,
           (unsigned long long)reported);
    return 0;
}
