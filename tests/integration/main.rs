//! One integration test binary (as ripgrep does): whole-binary and
//! network behaviour, each area in its own module.

mod cli;
mod docs;
mod exit_codes;
mod fuzz_corpus;
mod lifecycle;
mod limits;
mod machines;
mod network;
mod private_tree;
mod replicas;
mod sealing;
mod support;
mod tail;
mod tree;
