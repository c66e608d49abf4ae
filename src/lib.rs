//! numasim: a simulator of NUMA physical memory as the Linux kernel manages
//! it, frame by frame.
//!
//! - `model`: frames, topology, workloads, scenarios (no GPU, no UI).
//! - `engine`: the tick as a list of phases, the buffers, and the backends.
//! - `kernel`: the CPU side: control paths, watermarks, invariants.
//! - `procfs`: the virtual /proc and /sys tree and the command language.
//! - `ui` (feature `ui`): the egui dashboard.

pub mod engine;
pub mod kernel;
pub mod model;
pub mod procfs;
#[cfg(feature = "ui")]
pub mod ui;
