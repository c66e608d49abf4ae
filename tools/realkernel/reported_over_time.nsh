# The numasim side of tools/realkernel/reported_over_time.sh: a 2 GiB idle
# guest with a reporting device, the device file every 2 s of simulated time.
# numasim shell tools/realkernel/reported_over_time.nsh --scenario assets/scenarios/reporting-idle-2g.toml
tick 1000
cat /sys/kernel/debug/numasim/page_reporting
tick 2000
cat /sys/kernel/debug/numasim/page_reporting
tick 2000
cat /sys/kernel/debug/numasim/page_reporting
tick 2000
cat /sys/kernel/debug/numasim/page_reporting
