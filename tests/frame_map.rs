//! The frame map pass (engine::frame_map, shaders/frame_map.wgsl): its
//! colors follow the state of every frame, a pixel over several frames
//! takes the majority category, the probe finds a frame's block, bad views
//! are refused, and the shader is byte-identical to its CPU twin.

use numasim::engine::frame_map::{
    category, render, FrameMapParams, Probe, CAT_NONE, NO_PROBE, NR_CATEGORIES, PALETTE,
};
use numasim::engine::gpu::GpuBackend;
use numasim::engine::SimBuffers;
use numasim::kernel::boot::boot_buffers;
use numasim::kernel::Machine;
use numasim::model::frame::{kind, order, KIND_TAIL};
use numasim::model::scenario::Scenario;

mod common;

fn small_after(ticks: u64) -> Machine {
    let mut m = Machine::boot(Scenario::load("stress-frag").unwrap(), Some(3)).unwrap();
    m.advance(ticks).unwrap();
    m
}

/// Category of every frame, found the plain way: walk the heads in order
/// and give each block's frames its category.
fn categories(b: &SimBuffers) -> Vec<u32> {
    let mut v = vec![u32::MAX; b.frames.len()];
    let mut i = 0;
    while i < b.frames.len() {
        let s = b.frames[i];
        assert_ne!(kind(s), KIND_TAIL, "frame {i} is a tail outside any block");
        let n = 1usize << order(s);
        v[i..i + n].fill(category(s));
        i += n;
    }
    v
}

fn params(b: &SimBuffers, first: u32, fpp: u32, width: u32, height: u32) -> FrameMapParams {
    FrameMapParams {
        first_pfn: first,
        frames_per_pixel: fpp,
        width,
        height,
        nr_frames: b.frames.len() as u32,
        probe_pfn: NO_PROBE,
        _pad: [0; 2],
    }
}

#[test]
fn one_frame_per_pixel_shows_each_frames_block() {
    let mut m = small_after(300);
    let b = m.buffers().unwrap();
    let cats = categories(b);
    let n = b.frames.len() as u32;
    let w = 512;
    let p = params(b, 0, 1, w, n.div_ceil(w) + 1);
    let mut out = vec![0; p.out_words()];
    render(b, &p, &mut out).unwrap();
    for (i, px) in out[..p.pixels()].iter().enumerate() {
        let want = cats
            .get(i)
            .map(|&c| PALETTE[c as usize])
            .unwrap_or(PALETTE[CAT_NONE as usize]);
        assert_eq!(*px, want, "pixel {i}");
    }
    // The run left a mix on the map: free blocks of several orders and
    // several allocation classes.
    let distinct: std::collections::BTreeSet<u32> = cats.iter().copied().collect();
    assert!(distinct.len() >= 6, "only categories {distinct:?}");
}

#[test]
fn a_pixel_over_many_frames_takes_the_majority_category() {
    let mut m = small_after(300);
    let b = m.buffers().unwrap();
    let cats = categories(b);
    for fpp in [2u32, 8, 64, 1024] {
        let first = 4096;
        let p = params(b, first, fpp, 64, 8);
        let mut out = vec![0; p.out_words()];
        render(b, &p, &mut out).unwrap();
        for (i, px) in out[..p.pixels()].iter().enumerate() {
            let mut hist = [0u32; NR_CATEGORIES];
            for f in 0..fpp {
                let pfn = (first + i as u32 * fpp + f) as usize;
                hist[cats.get(pfn).copied().unwrap_or(CAT_NONE) as usize] += 1;
            }
            // Largest count; the lowest category wins a tie.
            let best = (0..NR_CATEGORIES).rev().max_by_key(|&c| hist[c]).unwrap();
            assert_eq!(*px, PALETTE[best], "fpp {fpp} pixel {i}: {hist:?}");
        }
    }
}

#[test]
fn the_probe_names_the_block_of_a_tail_frame() {
    let mut m = small_after(100);
    let b = m.buffers().unwrap();
    // A frame inside a block of order >= 3, not its head.
    let head = (0..b.frames.len())
        .find(|&i| kind(b.frames[i]) != KIND_TAIL && order(b.frames[i]) >= 3)
        .unwrap();
    let pfn = head as u32 + 5;
    let mut p = params(b, 0, 1, 64, 1);
    p.probe_pfn = pfn;
    let mut out = vec![0; p.out_words()];
    render(b, &p, &mut out).unwrap();
    let probe = Probe::from_words(pfn, &out[p.pixels()..]).unwrap();
    assert_eq!(probe.head_pfn, head as u32);
    assert_eq!(probe.state, b.frames[head]);
    assert_eq!(probe.owner, b.owners[head]);
    assert_eq!(probe.pageblock_mt, b.pageblocks[head >> 9]);
    // Beyond memory: no probe.
    p.probe_pfn = b.frames.len() as u32;
    render(b, &p, &mut out).unwrap();
    assert_eq!(Probe::from_words(p.probe_pfn, &out[p.pixels()..]), None);
}

#[test]
fn bad_views_are_refused_with_the_value() {
    let mut m = small_after(1);
    let b = m.buffers().unwrap();
    let mut out = vec![0; 1 << 16];
    let p = params(b, 0, 0, 64, 1);
    let e = render(b, &p, &mut out).unwrap_err();
    assert!(e.contains("frames_per_pixel 0"), "{e}");
    let p = params(b, 0, 1 << 20, 64, 1 << 10);
    let e = render(b, &p, &mut out).unwrap_err();
    assert!(e.contains("past the 32-bit frame space"), "{e}");
    let p = params(b, 0, 1, 1024, 1024);
    let e = render(b, &p, &mut out).unwrap_err();
    assert!(e.contains("view needs"), "{e}");
    let mut p = params(b, 0, 1, 64, 1);
    p.nr_frames += 1;
    let e = render(b, &p, &mut out).unwrap_err();
    assert!(e.contains("does not match"), "{e}");
}

/// The shader against its CPU twin, on the same state: every word equal.
fn gpu_parity(part_frames: Option<u64>) {
    let Some(ctx) = common::gpu() else { return };
    let s = Scenario::load("stress-frag").unwrap();
    let mut cpu = Machine::boot(s.clone(), Some(3)).unwrap();
    let g = GpuBackend::with_part_frames(ctx, boot_buffers(&s, 3), part_frames).unwrap();
    let mut gpu = Machine::with_backend(s, 3, Box::new(g)).unwrap();
    cpu.advance(120).unwrap();
    gpu.advance(120).unwrap();
    let n = cpu.buffers().unwrap().frames.len() as u32;
    let head = {
        let b = cpu.buffers().unwrap();
        (0..b.frames.len())
            .find(|&i| kind(b.frames[i]) != KIND_TAIL && order(b.frames[i]) >= 2)
            .unwrap() as u32
    };
    for (first, fpp, w, h, probe) in [
        (0, 1, 512, n / 512 + 2, head + 1),
        (0, 8, 256, n / 2048 + 1, NO_PROBE),
        (8192, 64, 64, 16, 0),
        (n - 1000, 1, 128, 10, n - 1),
        (0, 1 << 12, 64, 2, n + 5),
    ] {
        let mut p = params(cpu.buffers().unwrap(), first, fpp, w, h);
        p.probe_pfn = probe;
        let a = cpu.frame_map(&p).unwrap();
        let b = gpu.frame_map(&p).unwrap();
        assert_eq!(a.len(), b.len());
        if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
            panic!(
                "view {p:?}: word {i} differs: cpu {:#x} gpu {:#x}",
                a[i], b[i]
            );
        }
    }
}

#[test]
fn gpu_frame_map_matches_the_cpu_twin() {
    gpu_parity(None);
}

#[test]
fn gpu_frame_map_matches_the_cpu_twin_with_split_frame_arrays() {
    gpu_parity(Some(24 * 1024));
}

/// The dashboard's path: the pass into a texture (read back here) and the
/// probe through its asynchronous readback.
#[test]
fn gpu_frame_map_into_a_texture_and_the_async_probe() {
    let Some(ctx) = common::gpu() else { return };
    let s = Scenario::load("stress-frag").unwrap();
    let mut cpu = Machine::boot(s.clone(), Some(3)).unwrap();
    let g = GpuBackend::new(ctx.clone(), boot_buffers(&s, 3)).unwrap();
    let mut gpu = Machine::with_backend(s, 3, Box::new(g)).unwrap();
    cpu.advance(80).unwrap();
    gpu.advance(80).unwrap();
    let (w, h) = (256u32, 64u32);
    let mut p = params(cpu.buffers().unwrap(), 0, 4, w, h);
    p.probe_pfn = 777;
    let want = cpu.frame_map(&p).unwrap();
    let texture = ctx.device.create_texture(&wgpu::TextureDescriptor {
        label: Some("test.frame_map"),
        size: wgpu::Extent3d {
            width: w,
            height: h,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba8Unorm,
        usage: wgpu::TextureUsages::COPY_DST | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let g = gpu.backend_mut().as_gpu().unwrap();
    // A width that is not a multiple of 64 is refused, naming it.
    let mut bad = p;
    bad.width = 100;
    let e = g
        .frame_map_to_texture(&bad, &texture)
        .unwrap_err()
        .to_string();
    assert!(e.contains("100x64"), "{e}");
    assert!(
        g.frame_map_to_texture(&p, &texture).unwrap(),
        "the probe was not requested"
    );
    // The probe arrives without a blocking wait (poll until it does).
    let mut probe = None;
    for _ in 0..2000 {
        probe = g.frame_map_probe();
        if probe.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let probe = probe.expect("probe never arrived");
    assert_eq!(Some(probe), Probe::from_words(777, &want[p.pixels()..]));
    // The texture holds the CPU twin's pixels.
    let buf = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("test.readback"),
        size: (w * h * 4) as u64,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut enc = ctx.device.create_command_encoder(&Default::default());
    enc.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &buf,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(w * 4),
                rows_per_image: Some(h),
            },
        },
        wgpu::Extent3d {
            width: w,
            height: h,
            depth_or_array_layers: 1,
        },
    );
    ctx.queue.submit([enc.finish()]);
    buf.slice(..).map_async(wgpu::MapMode::Read, |r| r.unwrap());
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .unwrap();
    let got: Vec<u32> = bytemuck::cast_slice(&buf.slice(..).get_mapped_range().unwrap()).to_vec();
    assert_eq!(got, want[..p.pixels()]);
}
