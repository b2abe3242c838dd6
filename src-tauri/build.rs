//! Build script: lets `tauri-build` read `tauri.conf.json`, check the icons and compile the
//! capabilities in `capabilities/` into the binary.

fn main() {
    tauri_build::build()
}
