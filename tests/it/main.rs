//! The integration tests, one binary (`cargo test --test it`) so they link once: `harness`
//! has the shared helpers (temp dirs, configs, running the binary, an SMTP server for tests),
//! and each other module is one area of behaviour.

mod archive;
mod bounces;
mod cli;
mod exit_codes;
mod first_use;
mod for_you;
mod harness;
mod hygiene;
mod pipeline;
mod readme;
mod reruns;
mod schedule;
mod self_service;
mod send;
mod serve;
mod smtp_server;
mod sources;
mod subscribers;
mod tls;
