# Inside a 2-node 6.1 guest: 40 writes of 1 to node 1's 1 GiB nr_hugepages,
# 50 ms apart, and what page_reporting_order reads and accepts.
P=/sys/module/page_reporting/parameters/page_reporting_order
G=/sys/devices/system/node/node1/hugepages/hugepages-1048576kB/nr_hugepages
sec order_at_start cat $P
ok=0; n=0
i=0
while [ $i -lt 40 ]; do
  echo 1 > $G
  v=$(cat $G)
  [ "$v" = "1" ] && ok=$((ok+1))
  n=$((n+1))
  echo 0 > $G
  sleep 0.05
  i=$((i+1))
done
echo "$ok of $n" > /tmp/gig.txt
cap gigantic /tmp/gig.txt
sec write12 sh -c "echo 12 > $P; cat $P"
sec write_abc sh -c "echo abc > $P; echo rc=\$?; cat $P"
cap buddyinfo /proc/buddyinfo
sec dmesg_report sh -c "dmesg | grep -i -E 'report|balloon|alloc_contig|hugetlb' | tail -30"
