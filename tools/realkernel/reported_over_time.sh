# Inside a 6.1 guest with a virtio-balloon (free-page-reporting=on): free
# blocks and reported blocks from /proc/kpageflags (kpf_reported.c, built
# with gcc -static) before and after 200 MiB of hugetlb pages are freed.
# `cap` and the guest harness are those of the QEMU runner used.
H=/proc/sys/vm/nr_hugepages
{
kpf_reported boot
sleep 3
kpf_reported after_3s
echo 100 > $H
echo "hugepages $(cat $H)"
kpf_reported pool_100
echo 0 > $H
kpf_reported freed_0s
for t in 0.5 1.0 1.5 2.0 2.5 3.0 4.0 6.0; do sleep 0.5; [ "$t" = "4.0" ] && sleep 0.5; [ "$t" = "6.0" ] && sleep 1.5; kpf_reported "freed_${t}s"; done
} > /tmp/kpf.txt 2>&1
cap kpf /tmp/kpf.txt
cap buddyinfo /proc/buddyinfo
