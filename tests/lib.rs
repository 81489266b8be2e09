//! Integration and end-to-end tests live in `api/` (one test binary, `cargo test -p ota-tests`).
//! This library is empty; the crate exists so the tests have a home in the workspace.
