# Inside a 2-node 6.1 guest (../shared/realkernel: NODES=2 CPUS_PER_NODE=1
# NODE_MB=1024): NUMA balancing (6.1 enables it at boot on a multi-node
# machine) following numa_mover (numa_mover.c, built with gcc -static and
# passed to run_guest.sh) from node 0 to node 1.
cap numa_balancing /proc/sys/kernel/numa_balancing
capdir sched_numa /sys/kernel/debug/sched/numa_balancing
numa_mover 32 3 12 > /tmp/mover.txt 2>&1
cap mover /tmp/mover.txt
