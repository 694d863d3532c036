//! Panics that reach the person: Burn's GPU backends panic rather than return an error when a kernel
//! or an allocation fails (most often the GPU running out of memory mid-training). The GUI's background
//! jobs and the CLI's training catch them, and these helpers turn the payload into words and tell an
//! out-of-memory failure apart, which has a remedy to offer.

use std::any::Any;

/// The text a panic was raised with (`panic!` gives a `&str` or a `String`).
pub fn message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Whether `message` reads as the device running out of memory (CubeCL's "out of device memory" and
/// "out-of-memory error", wgpu's "Not enough memory left").
pub fn out_of_memory(message: &str) -> bool {
    let m = message.to_lowercase();
    [
        "out of device memory",
        "out-of-memory",
        "out of memory",
        "not enough memory",
    ]
    .iter()
    .any(|p| m.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_both_payload_kinds() {
        let literal = std::panic::catch_unwind(|| panic!("plain")).unwrap_err();
        assert_eq!(message(literal.as_ref()), "plain");
        let n = 3;
        let formatted = std::panic::catch_unwind(|| panic!("{n} left")).unwrap_err();
        assert_eq!(message(formatted.as_ref()), "3 left");
        let other = std::panic::catch_unwind(|| std::panic::panic_any(7u8)).unwrap_err();
        assert_eq!(message(other.as_ref()), "a panic without a message");
    }

    #[test]
    fn out_of_memory_as_the_backends_word_it() {
        assert!(out_of_memory(
            "out of device memory allocating 1073741824 bytes\nbacktrace"
        ));
        assert!(out_of_memory(
            "An out-of-memory error happened during launch\nCaused by: …"
        ));
        assert!(out_of_memory(
            "wgpu error: Validation Error\n In Device::create_buffer\n Not enough memory left"
        ));
        assert!(!out_of_memory(
            "index out of bounds: the len is 3 but the index is 5"
        ));
        assert!(!out_of_memory("A compilation error happened during launch"));
    }
}
