//! Mempolicy node selection for control paths (mm/mempolicy.c): the
//! zonelist's node order, a policy's allowed nodes, and the node a
//! hugetlb fault prefers.

use crate::model::topology::Topology;
use crate::model::workload::Mempolicy;

/// Nodes in fallback order from `nid` (the node order of its zonelist).
pub fn node_order(t: &Topology, nid: u32) -> Vec<u32> {
    let mut v: Vec<u32> = (0..t.nodes.len() as u32).collect();
    v.sort_by_key(|&n| (t.distance[nid as usize][n as usize], n));
    v
}

/// The nodes a mempolicy allows (`policy_nodemask()`), all nodes with
/// memory for local and preferred policies.
pub fn policy_mask(policy: &Mempolicy, t: &Topology) -> Vec<u32> {
    match policy {
        Mempolicy::Bind(_) => policy.nodes(),
        _ => t
            .nodes
            .iter()
            .filter(|n| n.frames > 0)
            .map(|n| n.id)
            .collect(),
    }
}

/// `huge_node()`: the node a fault on page `idx` of a mapping prefers.
pub fn fault_node(policy: &Mempolicy, task_node: u32, idx: u64, weights: &[u8]) -> u32 {
    match policy {
        Mempolicy::Preferred(n) => *n,
        Mempolicy::Bind(_) => {
            let nodes = policy.nodes();
            if nodes.contains(&task_node) {
                task_node
            } else {
                nodes[0]
            }
        }
        Mempolicy::Interleave(_) => {
            // interleave_nid(): the page offset picks the nth node.
            let nodes = policy.nodes();
            nodes[(idx % nodes.len() as u64) as usize]
        }
        Mempolicy::WeightedInterleave(_) => {
            let nodes = policy.nodes();
            let w = |n: u32| {
                weights
                    .get(n as usize)
                    .map(|&w| w.max(1) as u64)
                    .unwrap_or(1)
            };
            let total: u64 = nodes.iter().map(|&n| w(n)).sum();
            let mut pos = idx % total;
            for &n in &nodes {
                if pos < w(n) {
                    return n;
                }
                pos -= w(n);
            }
            nodes[0]
        }
        _ => task_node,
    }
}
