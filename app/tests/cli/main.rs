//! The `hashlens` binary run as users and scripts run it: exit codes, JSON shapes, error messages, and
//! whole workflows (index, search, train, eval, inspect). One test binary, so that its helpers are
//! shared and it is linked once.

mod common;

mod commands;
mod engines;
mod index;
mod inspect;
mod train;
