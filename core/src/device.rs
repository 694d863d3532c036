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

/// The process can register Burn's wgpu runtime only once; later requests reuse the first answer.
fn gpu() -> Result<ComputeDevice, NoGpu> {
    static GPU: std::sync::OnceLock<Result<ComputeDevice, String>> = std::sync::OnceLock::new();
    GPU.get_or_init(|| {
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
