//! The GPU backend: the tick as wgpu compute shaders.

pub mod shaders;
