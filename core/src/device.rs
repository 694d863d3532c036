//! Choosing where the networks run: a GPU through Burn's wgpu backend when one is usable, the `flex` CPU
//! backend otherwise.
//!
//! Why not `Device::default()`: Burn's lazy GPU constructors panic on first use when no adapter exists,
//! and a software adapter (Mesa's lavapipe or llvmpipe) is found on many Linux machines but crashes or
//! crawls on Burn's kernels (../shared/spec/burn-notes.md). So the adapter is requested eagerly, checked,
//! and anything short of a hardware GPU falls back to the CPU with the reason said out loud.

use burn::tensor::Device;
use burn::tensor::wgpu::wgpu;
use serde::{Deserialize, Serialize};

/// What the user asked for (`--device auto|gpu|cpu`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// A hardware GPU if one works, else the CPU.
    #[default]
    Auto,
    /// A GPU or an error.
    Gpu,
    /// The CPU, even when a GPU exists.
    Cpu,
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "gpu" => Ok(Self::Gpu),
            "cpu" => Ok(Self::Cpu),
            _ => Err(format!("unknown device {s:?}: use auto, gpu or cpu")),
        }
    }
}

/// The device chosen, and what to tell the user about it.
#[derive(Clone, Debug)]
pub struct ComputeDevice {
    pub device: Device,
    /// True for a GPU.
    pub gpu: bool,
    /// The adapter or CPU backend, e.g. "NVIDIA H100 80GB HBM3 (Vulkan)" or "CPU (flex, 2 threads)".
    pub name: String,
    /// Why this one, when it was not the user's explicit choice (e.g. why the GPU was not used).
    pub note: Option<String>,
}

/// A GPU was asked for and none can be used.
#[derive(Debug, thiserror::Error)]
#[error("no usable GPU: {0}")]
pub struct NoGpu(pub String);

impl ComputeDevice {
    /// The CPU backend.
    pub fn cpu(note: Option<String>) -> Self {
        Self {
            device: Device::flex(),
            gpu: false,
            name: format!("CPU (flex, {} threads)", rayon::current_num_threads()),
            note,
        }
    }

    /// Resolves the user's choice. Only `Gpu` can fail; `Auto` always ends with a device.
    pub fn choose(choice: DeviceChoice) -> Result<Self, NoGpu> {
        match choice {
            DeviceChoice::Cpu => Ok(Self::cpu(None)),
            DeviceChoice::Gpu => gpu(),
            DeviceChoice::Auto => Ok(gpu().unwrap_or_else(|NoGpu(why)| {
                Self::cpu(Some(format!("no usable GPU ({why}); using the CPU")))
            })),
        }
    }

    /// One line for terminals and status bars.
    pub fn describe(&self) -> String {
        match &self.note {
            Some(note) => format!("{} — {note}", self.name),
            None => self.name.clone(),
        }
    }
}

/// The adapters wgpu can see, by name and kind, without creating a device on any of them. Burn's runtime,
/// once created on an adapter, keeps a thread of its own for the life of the process (measured on a
/// machine with only Mesa's llvmpipe: 3.7 % of a core while the app sat idle, for a device it had
/// rejected); looking first costs nothing that outlives this call.
fn adapters() -> Vec<wgpu::AdapterInfo> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
        .iter()
        .map(|a| a.get_info())
        .collect()
}

/// Why none of `adapters` can run the networks, or `None` when one may (a hardware adapter).
fn no_hardware(adapters: &[wgpu::AdapterInfo]) -> Option<String> {
    if adapters
        .iter()
        .any(|a| a.device_type != wgpu::DeviceType::Cpu)
    {
        return None;
    }
    Some(match adapters.first() {
        None => "no graphics adapter found".into(),
        Some(a) => format!(
            "only a software adapter, {} ({:?}), which cannot run the networks",
            a.name, a.backend
        ),
    })
}

/// The process can register Burn's wgpu runtime only once; later requests reuse the first answer.
fn gpu() -> Result<ComputeDevice, NoGpu> {
    static GPU: std::sync::OnceLock<Result<ComputeDevice, String>> = std::sync::OnceLock::new();
    GPU.get_or_init(|| {
        // Only software adapters: say so without starting Burn's runtime on one.
        let listed = std::panic::catch_unwind(adapters)
            .map_err(|_| "the graphics driver failed while listing adapters".to_string())?;
        if let Some(why) = no_hardware(&listed) {
            return Err(why);
        }
        // wgpu may panic inside a driver it cannot talk to; that is "no GPU", not a crash.
        let attempt = std::panic::catch_unwind(|| Device::wgpu_options().init_with_setup());
        let (device, setup) = match attempt {
            Ok(Ok(pair)) => pair,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("the graphics driver failed while listing adapters".into()),
        };
        let info = setup.adapter.get_info();
        let name = format!("{} ({:?})", info.name, info.backend);
        if info.device_type == wgpu::DeviceType::Cpu {
            return Err(format!(
                "only a software adapter, {name}, which cannot run the networks"
            ));
        }
        Ok(ComputeDevice {
            device,
            gpu: true,
            name,
            note: None,
        })
    })
    .clone()
    .map_err(NoGpu)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(name: &str, device_type: wgpu::DeviceType) -> wgpu::AdapterInfo {
        wgpu::AdapterInfo {
            name: name.into(),
            ..wgpu::AdapterInfo::new(device_type, wgpu::Backend::Vulkan)
        }
    }

    #[test]
    fn only_software_adapters_are_no_gpu() {
        let soft = adapter("llvmpipe (LLVM 15.0.6, 256 bits)", wgpu::DeviceType::Cpu);
        let hard = adapter("NVIDIA H100", wgpu::DeviceType::DiscreteGpu);
        assert_eq!(
            no_hardware(&[]).as_deref(),
            Some("no graphics adapter found")
        );
        let why = no_hardware(std::slice::from_ref(&soft)).unwrap();
        assert!(
            why.contains("llvmpipe") && why.contains("software"),
            "{why}"
        );
        assert_eq!(no_hardware(&[soft, hard]), None);
    }

    #[test]
    fn choices_parse_and_cpu_is_cpu() {
        assert_eq!("auto".parse(), Ok(DeviceChoice::Auto));
        assert_eq!("gpu".parse(), Ok(DeviceChoice::Gpu));
        assert!("tpu".parse::<DeviceChoice>().is_err());
        let cpu = ComputeDevice::choose(DeviceChoice::Cpu).unwrap();
        assert!(!cpu.gpu && cpu.name.starts_with("CPU") && cpu.note.is_none());
    }

    /// Wherever this runs, `auto` yields a device without panicking, and it agrees with `gpu`.
    #[test]
    fn auto_never_fails_and_agrees_with_gpu() {
        let auto = ComputeDevice::choose(DeviceChoice::Auto).unwrap();
        match ComputeDevice::choose(DeviceChoice::Gpu) {
            Ok(g) => assert!(auto.gpu && auto.name == g.name),
            Err(NoGpu(why)) => {
                assert!(!auto.gpu);
                assert!(auto.note.as_deref().unwrap().contains(&why));
            }
        }
    }
}
