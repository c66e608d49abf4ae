//! The simulated machine as data: frames, topology, workloads, scenarios.
//! Nothing here knows about wgpu or egui.

pub mod frame;
pub mod hash;
pub mod numa;
pub mod scenario;
pub mod topology;
pub mod workload;
