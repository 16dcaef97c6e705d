//! Compiles the C shim against the installed Wireshark headers and generates the symbols the
//! Wireshark plugin loader reads: `plugin_version`, `plugin_want_major`, `plugin_want_minor`.
use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let include = env::var("DEP_WIRESHARK_INCLUDE").expect("wireshark-sys publishes its include dirs");
    let major: u32 = env::var("DEP_WIRESHARK_VERSION_MAJOR").expect("major").parse().expect("numeric major");
    let minor: u32 = env::var("DEP_WIRESHARK_VERSION_MINOR").expect("minor").parse().expect("numeric minor");

    let mut build = cc::Build::new();
    build.file("plugin/shim.c").include("plugin").warnings(true).flag_if_supported("-Wno-unused-parameter");
    for dir in env::split_paths(&include) {
        build.include(dir);
    }
    build.compile("dcomauth_shim");
    // The same per-minor cfg wireshark-sys sets for itself, for code here that must differ by minor.
    for m in [0, 2, 4, 6] {
        println!("cargo::rustc-check-cfg=cfg(wireshark_4_{m})");
    }
    if major == 4 {
        println!("cargo:rustc-cfg=wireshark_4_{minor}");
    }
    // cargo-fuzz builds with `--cfg fuzzing` (see src/maps.rs).
    println!("cargo::rustc-check-cfg=cfg(fuzzing)");
    // Integration tests lay the plugin out as <dir>/<major>.<minor>/epan/.
    println!("cargo:rustc-env=DCOMAUTH_WIRESHARK_VERSION={major}.{minor}");
    println!("cargo:rerun-if-changed=plugin/shim.c");
    println!("cargo:rerun-if-changed=plugin/shim.h");

    // The loader reads the bytes at `plugin_version`, so it must be an array, not a pointer.
    let version = env::var("CARGO_PKG_VERSION").expect("CARGO_PKG_VERSION");
    let bytes: Vec<String> = version.bytes().chain(std::iter::once(0)).map(|b| format!("{b}u8 as c_char")).collect();
    let exports = format!(
        "/// Plugin version the loader prints in `tshark -G plugins`.\n\
         #[no_mangle]\n#[used]\npub static plugin_version: [c_char; {n}] = [{list}];\n\
         /// Wireshark major/minor this build was compiled against; the loader refuses others.\n\
         #[no_mangle]\n#[used]\npub static plugin_want_major: c_int = {major};\n\
         #[no_mangle]\n#[used]\npub static plugin_want_minor: c_int = {minor};\n",
        n = bytes.len(),
        list = bytes.join(", "),
    );
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    fs::write(out.join("plugin_exports.rs"), exports).expect("write plugin_exports.rs");
}
