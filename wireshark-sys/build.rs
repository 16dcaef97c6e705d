//! Generates bindings for the installed Wireshark at build time and tells dependents where it is.
//!
//! Headers and link flags come from `pkg-config wireshark` (>= 4.0). Override with
//! `WIRESHARK_INCLUDE_DIRS` (colon-separated, must include glib's) and `WIRESHARK_LIB_DIRS`,
//! or point `PKG_CONFIG_PATH` at another installation.
use std::env;
use std::path::PathBuf;
use std::process::Command;

/// Wireshark minors this crate knows; each becomes `cfg(wireshark_4_N)` when it is the one built against.
const KNOWN_MINORS: &[u32] = &[0, 2, 4, 6];

fn pkg_config(args: &[&str]) -> Result<String, String> {
    let out = Command::new("pkg-config").args(args).output().map_err(|e| format!("cannot run pkg-config: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

struct Install {
    include_dirs: Vec<PathBuf>,
    lib_dirs: Vec<PathBuf>,
    libs: Vec<String>,
}

fn locate() -> Install {
    println!("cargo:rerun-if-env-changed=WIRESHARK_INCLUDE_DIRS");
    println!("cargo:rerun-if-env-changed=WIRESHARK_LIB_DIRS");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let libs = vec!["wireshark".to_owned(), "wsutil".to_owned(), "glib-2.0".to_owned()];
    if let Ok(dirs) = env::var("WIRESHARK_INCLUDE_DIRS") {
        let lib_dirs = env::var("WIRESHARK_LIB_DIRS").unwrap_or_default();
        return Install {
            include_dirs: env::split_paths(&dirs).collect(),
            lib_dirs: env::split_paths(&lib_dirs).filter(|p| !p.as_os_str().is_empty()).collect(),
            libs,
        };
    }
    let cflags = pkg_config(&["--cflags", "wireshark >= 4.0"]).unwrap_or_else(|e| {
        panic!("Wireshark development files (>= 4.0) not found by pkg-config; install libwireshark-dev or set WIRESHARK_INCLUDE_DIRS: {e}")
    });
    let ldflags = pkg_config(&["--libs", "wireshark >= 4.0"]).unwrap_or_default();
    Install {
        include_dirs: cflags.split_whitespace().filter_map(|f| f.strip_prefix("-I")).map(PathBuf::from).collect(),
        lib_dirs: ldflags.split_whitespace().filter_map(|f| f.strip_prefix("-L")).map(PathBuf::from).collect(),
        libs,
    }
}

/// Reads WIRESHARK_VERSION_MAJOR/_MINOR from `ws_version.h`, the header plugins are checked against.
fn header_version(include_dirs: &[PathBuf]) -> (u32, u32) {
    for dir in include_dirs {
        let path = dir.join("ws_version.h");
        if let Ok(text) = std::fs::read_to_string(&path) {
            println!("cargo:rerun-if-changed={}", path.display());
            let field = |name: &str| {
                text.lines()
                    .filter_map(|l| l.trim().strip_prefix("#define "))
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().parse::<u32>()))
                    .and_then(Result::ok)
            };
            if let (Some(major), Some(minor)) = (field("WIRESHARK_VERSION_MAJOR "), field("WIRESHARK_VERSION_MINOR ")) {
                return (major, minor);
            }
        }
    }
    panic!("ws_version.h not found in {include_dirs:?}");
}

fn main() {
    let install = locate();
    let (major, minor) = header_version(&install.include_dirs);

    for dir in &install.lib_dirs {
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
    for lib in &install.libs {
        println!("cargo:rustc-link-lib=dylib={lib}");
    }

    // Published to dependents as DEP_WIRESHARK_* (this crate `links = "wireshark"`).
    let joined = env::join_paths(&install.include_dirs).expect("include dirs are joinable");
    println!("cargo:include={}", joined.to_string_lossy());
    println!("cargo:version_major={major}");
    println!("cargo:version_minor={minor}");
    for m in KNOWN_MINORS {
        println!("cargo::rustc-check-cfg=cfg(wireshark_4_{m})");
    }
    if major == 4 {
        println!("cargo:rustc-cfg=wireshark_4_{minor}");
    }

    let mut builder = bindgen::Builder::default()
        .header("wrapper.h")
        .clang_args(install.include_dirs.iter().map(|d| format!("-I{}", d.display())))
        // Only what the plugin calls or hands to epan: anything more invites symbols libwireshark lacks.
        .allowlist_function("proto_register_plugin")
        .allowlist_function("proto_register_protocol")
        .allowlist_function("proto_register_field_array")
        .allowlist_function("proto_register_subtree_array")
        .allowlist_function("proto_get_id_by_filter_name")
        .allowlist_function("expert_register_protocol")
        .allowlist_function("expert_register_field_array")
        .allowlist_function("register_init_routine")
        .allowlist_function("prefs_register_protocol")
        .allowlist_function("prefs_register_enum_preference")
        .allowlist_function("prefs_register_uint_preference")
        .allowlist_function("prefs_register_bool_preference")
        .allowlist_type("enum_val_t")
        .allowlist_function("register_cleanup_routine")
        .allowlist_function("register_tap")
        .allowlist_function("tap_queue_packet")
        .allowlist_function("register_tap_listener")
        .allowlist_function("register_stat_tap_ui")
        .allowlist_function("register_stat_tap_table_ui")
        .allowlist_function("tap_register_plugin")
        .allowlist_function("stat_tap_init_table")
        .allowlist_function("stat_tap_add_table")
        .allowlist_function("stat_tap_find_table")
        .allowlist_function("stat_tap_init_table_row")
        .allowlist_function("stat_tap_get_field_data")
        .allowlist_function("g_strdup")
        .allowlist_function("g_free")
        .allowlist_type("stat_data_t")
        .allowlist_type("stat_tap_table_ui")
        .allowlist_type("tap_plugin")
        .allowlist_function("g_string_free")
        .allowlist_type("proto_plugin")
        .allowlist_type("dissector_t")
        .allowlist_type("proto_item")
        .allowlist_type("proto_tree")
        .allowlist_type("dissector_handle_t")
        .allowlist_type("hf_register_info")
        .allowlist_type("ei_register_info")
        .allowlist_type("expert_field")
        .allowlist_type("stat_tap_ui")
        .allowlist_type("field_display_e")
        .allowlist_type("hf_ref_type")
        .allowlist_var("PI_.*")
        .allowlist_var("TL_.*")
        .allowlist_var("TAP_PACKET_.*")
        // plugin_describe's flags (wsutil/plugins.h, Wireshark 4.2 and later).
        .allowlist_var("WS_PLUGIN_DESC_.*")
        .allowlist_type("tap_packet_status")
        .rustified_enum("ftenum")
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    if let Ok(target) = env::var("TARGET") {
        builder = builder.clang_arg(format!("--target={target}"));
    }
    let bindings = builder.generate().expect("bindgen over the Wireshark headers");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    bindings.write_to_file(out.join("bindings.rs")).expect("write bindings.rs");
}
