//! GPU setup in one place: choosing an adapter and opening a device.

use crate::engine::EngineError;

/// An open device and what it is.
#[derive(Clone)]
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
}

impl GpuContext {
    /// `NVIDIA H100 PCIe (Vulkan, DiscreteGpu)`.
    pub fn describe(&self) -> String {
        format!(
            "{} ({:?}, {:?})",
            self.name(),
            self.info.backend,
            self.info.device_type
        )
    }

    /// The adapter's name; browsers may hide it, so then what is known.
    pub fn name(&self) -> String {
        [&self.info.name, &self.info.driver, &self.info.driver_info]
            .into_iter()
            .find(|s| !s.trim().is_empty())
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| match self.info.backend {
                wgpu::Backend::BrowserWebGpu => "WebGPU adapter".into(),
                _ => "unnamed adapter".into(),
            })
    }

    /// Wraps a device someone else opened (the dashboard shares eframe's).
    pub fn from_existing(
        device: wgpu::Device,
        queue: wgpu::Queue,
        info: wgpu::AdapterInfo,
    ) -> Self {
        let limits = device.limits();
        GpuContext {
            device,
            queue,
            info,
            limits,
        }
    }
}

fn rank(t: wgpu::DeviceType) -> u32 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

/// Lists the adapters that can run compute shaders, best first: hardware
/// before software, and never the GL backend (WebGL2 limits: no compute).
pub fn adapters() -> Vec<wgpu::Adapter> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let mut v: Vec<wgpu::Adapter> = pollster::block_on(
        instance.enumerate_adapters(wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all())),
    )
    .into_iter()
    .filter(|a| {
        a.get_info().backend != wgpu::Backend::Gl
            && a.get_downlevel_capabilities()
                .flags
                .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
    })
    .collect();
    v.sort_by_key(|a| rank(a.get_info().device_type));
    v
}

/// Opens the best adapter, with the adapter's own limits (so large
/// machines get the buffer sizes the hardware allows).
///
/// In a browser nothing may block: there the only device is the page's
/// own (`GpuContext::from_existing`), and this says so.
pub fn open() -> Result<GpuContext, EngineError> {
    if cfg!(target_arch = "wasm32") {
        return Err(EngineError::Unavailable {
            backend: "gpu".into(),
            reason: "this page has no WebGPU device (the browser offers no WebGPU adapter, so the window is drawn with WebGL2, which has no compute shaders)".into(),
        });
    }
    let list = adapters();
    let Some(adapter) = list.into_iter().next() else {
        return Err(EngineError::Unavailable {
            backend: "gpu".into(),
            reason: "no GPU adapter with compute shaders was found (on Linux, a Vulkan driver such as Mesa's lavapipe from `mesa-vulkan-drivers` provides a software one)".into(),
        });
    };
    let info = adapter.get_info();
    let limits = adapter.limits();
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("numasim"),
        required_features: wgpu::Features::empty(),
        required_limits: limits.clone(),
        experimental_features: Default::default(),
        memory_hints: wgpu::MemoryHints::Performance,
        trace: Default::default(),
    }))
    .map_err(|e| EngineError::Unavailable {
        backend: "gpu".into(),
        reason: format!("{} refused a device: {e}", info.name),
    })?;
    Ok(GpuContext {
        device,
        queue,
        info,
        limits,
    })
}
