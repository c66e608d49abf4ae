//! Nodes, zones and distances: the machine a scenario describes, validated.

use super::frame::{CHUNK_FRAMES, PAGE_SIZE};

/// Zone types the model has, in the kernel's order (`enum zone_type`;
/// ZONE_DMA and ZONE_DEVICE are not modelled).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ZoneType {
    Dma32 = 0,
    Normal = 1,
    Movable = 2,
}

pub const NR_ZONE_TYPES: usize = 3;
pub const ZONE_TYPES: [ZoneType; NR_ZONE_TYPES] =
    [ZoneType::Dma32, ZoneType::Normal, ZoneType::Movable];

impl ZoneType {
    pub fn name(self) -> &'static str {
        match self {
            ZoneType::Dma32 => "DMA32",
            ZoneType::Normal => "Normal",
            ZoneType::Movable => "Movable",
        }
    }
    /// Suffix of the per-zone vmstat counters (`pgalloc_dma32`).
    pub fn vmstat_suffix(self) -> &'static str {
        match self {
            ZoneType::Dma32 => "dma32",
            ZoneType::Normal => "normal",
            ZoneType::Movable => "movable",
        }
    }
    /// Default `sysctl_lowmem_reserve_ratio` (mm/page_alloc.c).
    pub fn lowmem_reserve_ratio(self) -> u64 {
        match self {
            ZoneType::Dma32 => 256,
            ZoneType::Normal => 32,
            ZoneType::Movable => 0,
        }
    }
    pub fn from_index(i: u32) -> ZoneType {
        ZONE_TYPES[i as usize]
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub id: u32,
    pub start_pfn: u64,
    pub frames: u64,
    pub cpus: Vec<u32>,
    /// Memory tier: 0 for DRAM next to CPUs, higher for slower memory (CXL).
    pub tier: u32,
    /// Frames reserved at boot on this node (the memmap: 64 bytes of
    /// `struct page` per frame, plus any extra reservation).
    pub reserved_frames: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Zone {
    pub node: u32,
    pub zone_type: ZoneType,
    pub start_pfn: u64,
    /// `spanned_pages`; the model has no holes, so it is also `present_pages`.
    pub frames: u64,
    /// Frames of this zone reserved at boot: `present - managed`.
    pub reserved_frames: u64,
}

impl Zone {
    pub fn end_pfn(&self) -> u64 {
        self.start_pfn + self.frames
    }
    pub fn managed(&self) -> u64 {
        self.frames - self.reserved_frames
    }
    pub fn start_chunk(&self) -> u64 {
        self.start_pfn / CHUNK_FRAMES
    }
    pub fn nr_chunks(&self) -> u64 {
        self.frames / CHUNK_FRAMES
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    pub nodes: Vec<Node>,
    /// Zones ordered by node, then by zone type: the index used everywhere.
    pub zones: Vec<Zone>,
    /// SLIT distances, `distance[from][to]`, 10 on the diagonal.
    pub distance: Vec<Vec<u32>>,
}

impl Node {
    /// Frames of this node's memmap: a 64-byte `struct page` per frame.
    pub fn memmap_frames(&self) -> u64 {
        self.frames * 64 / crate::model::frame::PAGE_SIZE
    }
}

impl Topology {
    /// The first frame of node `nid`'s memmap: the start of its boot
    /// reservation at the top of ZONE_NORMAL.
    pub fn memmap_base(&self, nid: u32) -> u64 {
        let z = self
            .zones
            .iter()
            .find(|z| z.node == nid && z.reserved_frames > 0)
            .expect("every node reserves its memmap in ZONE_NORMAL");
        z.end_pfn() - z.reserved_frames
    }
    pub fn total_frames(&self) -> u64 {
        self.nodes.iter().map(|n| n.frames).sum()
    }
    pub fn nr_chunks(&self) -> u64 {
        self.total_frames() / CHUNK_FRAMES
    }
    pub fn total_bytes(&self) -> u64 {
        self.total_frames() * PAGE_SIZE
    }
    pub fn node_zones(&self, nid: u32) -> impl Iterator<Item = (usize, &Zone)> {
        self.zones
            .iter()
            .enumerate()
            .filter(move |(_, z)| z.node == nid)
    }
    pub fn cpu_node(&self, cpu: u32) -> Option<u32> {
        self.nodes
            .iter()
            .find(|n| n.cpus.contains(&cpu))
            .map(|n| n.id)
    }
    pub fn nr_cpus(&self) -> u32 {
        self.nodes.iter().map(|n| n.cpus.len() as u32).sum()
    }

    /// Nodes in fallback order from `nid`: by distance, ties by node id
    /// (`build_zonelists` / `find_next_best_node`, without its load
    /// balancing of equal-distance nodes).
    pub fn node_order(&self, nid: u32) -> Vec<u32> {
        let mut v: Vec<u32> = (0..self.nodes.len() as u32).collect();
        v.sort_by_key(|&n| (self.distance[nid as usize][n as usize], n));
        v
    }

    /// The node-ordered zonelist of `nid`: for each node in fallback order,
    /// its zones from the highest type down.
    pub fn zonelist(&self, nid: u32) -> Vec<u32> {
        let mut out = Vec::new();
        for n in self.node_order(nid) {
            let mut zs: Vec<(usize, &Zone)> = self.node_zones(n).collect();
            zs.sort_by_key(|(_, z)| std::cmp::Reverse(z.zone_type));
            out.extend(zs.into_iter().map(|(i, _)| i as u32));
        }
        out
    }

    /// `cpu_to_node()`: the node holding CPU `cpu`.
    pub fn node_of_cpu(&self, cpu: u32) -> Option<u32> {
        self.nodes
            .iter()
            .find(|n| n.cpus.contains(&cpu))
            .map(|n| n.id)
    }

    /// `/sys/devices/system/node/has_memory`-style lists.
    pub fn nodes_with_cpus(&self) -> Vec<u32> {
        self.nodes
            .iter()
            .filter(|n| !n.cpus.is_empty())
            .map(|n| n.id)
            .collect()
    }
    pub fn nodes_with_memory(&self) -> Vec<u32> {
        self.nodes
            .iter()
            .filter(|n| n.frames > 0)
            .map(|n| n.id)
            .collect()
    }

    /// The zone that holds `pfn`.
    pub fn zone_of_pfn(&self, pfn: u64) -> Option<usize> {
        self.zones
            .iter()
            .position(|z| pfn >= z.start_pfn && pfn < z.end_pfn())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topo3() -> Topology {
        let mk = |id: u32, start: u64| Node {
            id,
            start_pfn: start,
            frames: 1024,
            cpus: vec![id],
            tier: 0,
            reserved_frames: 0,
        };
        let zone = |node: u32, start: u64| Zone {
            node,
            zone_type: ZoneType::Normal,
            start_pfn: start,
            frames: 1024,
            reserved_frames: 0,
        };
        Topology {
            nodes: vec![mk(0, 0), mk(1, 1024), mk(2, 2048)],
            zones: vec![zone(0, 0), zone(1, 1024), zone(2, 2048)],
            distance: vec![vec![10, 30, 20], vec![30, 10, 20], vec![20, 20, 10]],
        }
    }

    #[test]
    fn fallback_follows_distance() {
        let t = topo3();
        assert_eq!(t.node_order(0), vec![0, 2, 1]);
        assert_eq!(t.node_order(1), vec![1, 2, 0]);
        // Ties broken by node id.
        assert_eq!(t.node_order(2), vec![2, 0, 1]);
        assert_eq!(t.zonelist(0), vec![0, 2, 1]);
    }
}
