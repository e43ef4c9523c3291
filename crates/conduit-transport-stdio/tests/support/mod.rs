//! Finding the `echo_server` example, which `cargo test` builds next to the test binaries.

use std::path::PathBuf;

/// The path of the `echo_server` example binary.
pub fn echo_server() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    // target/<profile>/deps/<test> → target/<profile>/examples/echo_server
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    let path = profile_dir
        .join("examples")
        .join(format!("echo_server{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p conduit-transport-stdio --examples` \
         (cargo test and nextest build it themselves)",
        path.display()
    );
    path
}
