//! One memory budget for every decode in flight in the process.
//!
//! Why: [`super::DecodeLimits`] bounds one photo (1 GiB), but indexing decodes on every core at once,
//! and the decoded pixels live on until they are resized. Four 18000 × 18000 PNGs of zeros (under a
//! megabyte each on disk) took an index run to 2.1 GB with two threads and 4.1 GB with four. Here a
//! decode first reserves what it will allocate (estimated from the header, before anything is
//! allocated: the decoded pixels, a conversion to 8-bit RGB, a rotated copy; for a JPEG decoded at a
//! reduced size, the reduced pixels and, for progressive files, the coefficients); a photo waits
//! until its bytes fit beside the others in flight, and one that could never fit is refused with the
//! reason. The reservation is held until the caller has resized the photo
//! ([`super::decode_then`]), so memory stays bounded whatever the folder holds and however many
//! threads decode.

use std::sync::{Condvar, LazyLock, Mutex};

use super::PhotoError;

/// Bytes all decodes in flight may hold together: the largest photo [`super::DecodeLimits`] accepts
/// fits alone, two such never fit at once.
pub const DECODE_BUDGET: u64 = 1 << 30;

static BUDGET: LazyLock<Budget> = LazyLock::new(|| Budget::new(DECODE_BUDGET));

/// The process's decode budget.
pub fn decode_budget() -> &'static Budget {
    &BUDGET
}

/// A number of bytes shared by the decodes in flight.
#[derive(Debug)]
pub struct Budget {
    total: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

/// Bytes held from a [`Budget`] until dropped.
#[derive(Debug)]
pub struct Reservation<'a> {
    budget: &'a Budget,
    bytes: u64,
}

impl Budget {
    pub fn new(total: u64) -> Self {
        Self {
            total,
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Waits until `bytes` fit beside what others hold, then holds them; refuses what could never
    /// fit. `what` describes the photo for that error ("18000 × 18000 pixels").
    pub fn reserve(&self, bytes: u64, what: &str) -> Result<Reservation<'_>, PhotoError> {
        if bytes > self.total {
            return Err(PhotoError::TooLarge(format!(
                "{what} need about {} MiB to decode, more than the {} MiB all decodes may use together",
                bytes >> 20,
                self.total >> 20
            )));
        }
        let mut used = self.used.lock().expect("budget lock");
        while *used + bytes > self.total {
            used = self.freed.wait(used).expect("budget lock");
        }
        *used += bytes;
        Ok(Reservation {
            budget: self,
            bytes,
        })
    }

    /// Bytes held now.
    pub fn in_use(&self) -> u64 {
        *self.used.lock().expect("budget lock")
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        *self.budget.used.lock().expect("budget lock") -= self.bytes;
        self.budget.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_reservation_waits_for_room_and_one_too_large_is_refused() {
        let budget = Arc::new(Budget::new(100));
        let err = budget.reserve(101, "a huge photo").unwrap_err();
        assert!(err.to_string().contains("more than the"), "{err}");
        let first = budget.reserve(70, "a").unwrap();
        assert_eq!(budget.in_use(), 70);
        let waiter = {
            let budget = budget.clone();
            std::thread::spawn(move || {
                let _second = budget.reserve(50, "b").unwrap();
                budget.in_use()
            })
        };
        std::thread::sleep(Duration::from_millis(200));
        // 70 + 50 > 100: the second waits until the first is dropped.
        assert_eq!(budget.in_use(), 70);
        drop(first);
        assert_eq!(waiter.join().unwrap(), 50);
        assert_eq!(budget.in_use(), 0);
    }
}
