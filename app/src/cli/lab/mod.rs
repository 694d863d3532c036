//! The lab: commands for people who study the methods rather than search their photos — `compare`
//! (train several methods under one protocol split and tabulate them) and `bench` (measure the
//! building blocks against their baselines).

pub mod bench;
pub mod compare;
