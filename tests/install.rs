//! plugin/install.sh and plugin/uninstall.sh: the folder they pick (the global plugin folder as
//! root, the personal one otherwise), that Wireshark loads the plugin from where install.sh put
//! it, and that uninstall.sh takes it away again, says so, and can be run again.
//!
//! Nothing here touches the machine's global plugin folder: as root the scripts only say which
//! folder they would use (`--print-dest`), and the install itself goes to a temporary folder
//! (`DCOMAUTH_PLUGIN_DEST`). The personal folder is a real one, under a temporary HOME of an
//! unprivileged user (`nobody` when the tests run as root). The scripts install the plugin cargo
//! built for these tests (`DCOMAUTH_SO`), so no release build is made.
mod harness;

use harness::{built_plugin, TempDir};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const WS_VERSION: &str = env!("DCOMAUTH_WIRESHARK_VERSION");

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// The scripts, the capture install.sh shows and the built plugin, copied into a temporary folder
/// every user can read (the checkout may be under a private home), in the checkout's layout.
struct Setup {
    dir: TempDir,
    home: PathBuf,
    so: PathBuf,
}

impl Setup {
    fn new(label: &str) -> Setup {
        let dir = TempDir::new(label);
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        for sub in ["plugin", "scripts", "tests/captures", "home"] {
            fs::create_dir_all(dir.path.join("repo").join(sub)).expect("mkdir");
        }
        for file in [
            "plugin/install.sh",
            "plugin/uninstall.sh",
            "plugin/folders.sh",
            "scripts/dcomauth-batch",
            "tests/captures/seed-winpe.pcapng",
        ] {
            fs::copy(repo.join(file), dir.path.join("repo").join(file)).unwrap_or_else(|e| panic!("copy {file}: {e}"));
        }
        let so = dir.path.join("libdcomauth.so");
        fs::copy(built_plugin(), &so).expect("copy plugin");
        chmod(&so, 0o644);
        for d in [
            dir.path.clone(),
            dir.path.join("repo"),
            dir.path.join("repo/plugin"),
            dir.path.join("repo/scripts"),
            dir.path.join("repo/tests"),
        ] {
            chmod(&d, 0o755);
        }
        chmod(&dir.path.join("repo/tests/captures"), 0o755);
        let home = dir.path.join("repo/home");
        // The unprivileged user's HOME: it writes its plugin folder there.
        chmod(&home, 0o777);
        Setup { dir, home, so }
    }

    /// A command run as `nobody` when the tests run as root (`as_nobody`), else as this user, with
    /// the temporary HOME and none of the variables that change what the scripts or tshark do.
    fn command(&self, as_nobody: bool, program: &str, args: &[&str]) -> Command {
        let mut c = if as_nobody {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--", program]);
            c
        } else {
            Command::new(program)
        };
        c.args(args)
            .env_remove("WIRESHARK_PLUGIN_DIR")
            .env_remove("DCOMAUTH_SO")
            .env_remove("DCOMAUTH_PLUGIN_DEST")
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("LC_ALL", "C.UTF-8");
        c
    }

    fn script(&self, name: &str) -> String {
        self.dir.path.join("repo/plugin").join(name).to_string_lossy().into_owned()
    }
}

fn run(mut cmd: Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"))
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Runs `cmd`, asserts it succeeded, returns its stdout.
fn ok(cmd: Command) -> String {
    let what = format!("{cmd:?}");
    let out = run(cmd);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{what} failed: {}\n{stdout}\n{stderr}", out.status);
    stdout
}

/// The folder `tshark -G folders` names on the line starting with `label`.
fn tshark_folder(folders: &str, label: &str) -> String {
    let line = folders.lines().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("no {label} in\n{folders}"));
    line.split('\t').nth(1).expect("a folder after the tab").trim().to_owned()
}

fn global_epan() -> String {
    let out = run({
        let mut c = Command::new("pkg-config");
        c.args(["--variable=plugindir", "wireshark"]);
        c
    });
    assert!(out.status.success(), "pkg-config knows no wireshark plugindir");
    format!("{}/epan", String::from_utf8_lossy(&out.stdout).trim())
}

/// The line of `tshark -G plugins` for libdcomauth.so, if listed.
fn listed(plugins: &str) -> Option<String> {
    plugins.lines().find(|l| l.starts_with("libdcomauth.so")).map(str::to_owned)
}

#[test]
fn both_scripts_name_the_folder_wireshark_loads_plugins_from() {
    let s = Setup::new("install-dest");
    let unprivileged = is_root();
    let print =
        |as_nobody: bool, name: &str| ok(s.command(as_nobody, &s.script(name), &["--print-dest"])).trim().to_owned();

    // This user: as root the global folder, which tshark names too.
    let mine = print(false, "install.sh");
    assert_eq!(print(false, "uninstall.sh"), mine);
    let folders = ok(s.command(false, "tshark", &["-G", "folders"]));
    if is_root() {
        assert_eq!(mine, global_epan());
        assert_eq!(mine, format!("{}/epan", tshark_folder(&folders, "Global Plugins:")));
    } else {
        assert_eq!(mine, format!("{}/epan", tshark_folder(&folders, "Personal Plugins:")));
    }

    // An unprivileged user: the personal folder under its HOME, the one its tshark names.
    let theirs = print(unprivileged, "install.sh");
    assert_eq!(print(unprivileged, "uninstall.sh"), theirs);
    let folders = ok(s.command(unprivileged, "tshark", &["-G", "folders"]));
    assert_eq!(theirs, format!("{}/epan", tshark_folder(&folders, "Personal Plugins:")));
    assert!(theirs.starts_with(&*s.home.to_string_lossy()), "{theirs} is not under {}", s.home.display());
    assert!(theirs.ends_with(&format!("/{WS_VERSION}/epan")), "{theirs}");

    // The override wins for both; an unknown argument is refused before anything is built.
    let mut c = s.command(false, &s.script("install.sh"), &["--print-dest"]);
    c.env("DCOMAUTH_PLUGIN_DEST", "/some/where/epan");
    assert_eq!(ok(c).trim(), "/some/where/epan");
    let mut c = s.command(false, &s.script("uninstall.sh"), &["--print-dest"]);
    c.env("DCOMAUTH_PLUGIN_DEST", "/some/where/epan");
    assert_eq!(ok(c).trim(), "/some/where/epan");
    for name in ["install.sh", "uninstall.sh"] {
        let out = run(s.command(false, &s.script(name), &["--bogus"]));
        assert_eq!(out.status.code(), Some(2), "{name} --bogus: {:?}", text(&out));
        assert!(text(&out).1.contains("--print-dest"), "{name} prints its usage: {:?}", text(&out));
    }
}

/// As this user (root in CI) into a temporary folder laid out like WIRESHARK_PLUGIN_DIR; tshark
/// (as `nobody` when root, since root ignores WIRESHARK_PLUGIN_DIR) loads it from there.
#[test]
fn install_and_uninstall_with_an_overridden_folder() {
    let s = Setup::new("install-override");
    let plugins = s.dir.path.join("plugins");
    let dest = plugins.join(WS_VERSION).join("epan");
    let installed = dest.join("libdcomauth.so");
    let global = Path::new(&global_epan()).join("libdcomauth.so");
    let global_before = global.exists();
    let script = |name: &str, so: &Path| {
        let mut c = s.command(false, &s.script(name), &[]);
        c.env("DCOMAUTH_PLUGIN_DEST", &dest).env("DCOMAUTH_SO", so);
        run(c)
    };
    let tshark_plugins = || {
        let mut c = s.command(is_root(), "tshark", &["-G", "plugins"]);
        c.env("WIRESHARK_PLUGIN_DIR", &plugins);
        ok(c)
    };

    let out = script("uninstall.sh", &s.so);
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(text(&out).0, format!("dcomauth: nothing to remove: {} does not exist\n", installed.display()));

    let missing = s.dir.path.join("no-such.so");
    let out = script("install.sh", &missing);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert!(text(&out).1.contains("is not a file"), "{:?}", text(&out));
    assert!(!installed.exists());

    let out = script("install.sh", &s.so);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "install.sh failed:\n{stdout}\n{stderr}");
    assert!(stdout.starts_with(&format!("dcomauth: installed {}\n", installed.display())), "{stdout}");
    assert!(stdout.contains("not checked with tshark"), "{stdout}");
    assert_eq!(fs::read(&installed).expect("installed plugin"), fs::read(&s.so).expect("built plugin"));
    assert_eq!(fs::metadata(&installed).unwrap().permissions().mode() & 0o777, 0o644);
    for d in [&plugins, &plugins.join(WS_VERSION), &dest] {
        chmod(d, 0o755);
    }
    let line = listed(&tshark_plugins()).expect("tshark lists the plugin from the overridden folder");
    assert!(line.contains(&*installed.to_string_lossy()), "{line}");

    let out = script("install.sh", &s.so);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(
        text(&out).0.starts_with(&format!("dcomauth: {} is up to date\n", installed.display())),
        "{:?}",
        text(&out)
    );

    let out = script("uninstall.sh", &s.so);
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(text(&out).0, format!("dcomauth: removed {}\n", installed.display()));
    assert!(!installed.exists());
    assert_eq!(listed(&tshark_plugins()), None, "the plugin is still loaded after uninstall.sh");

    let out = script("uninstall.sh", &s.so);
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(text(&out).0, format!("dcomauth: nothing to remove: {} does not exist\n", installed.display()));

    assert_eq!(global.exists(), global_before, "{} appeared or vanished", global.display());
}

/// The personal folder for real: an unprivileged user (`nobody` under root) runs install.sh, which
/// checks with that user's tshark that Wireshark loads the plugin and shows the WinPE findings;
/// uninstall.sh then removes it, and that tshark no longer loads it.
#[test]
fn install_and_uninstall_in_the_personal_folder_of_an_unprivileged_user() {
    let s = Setup::new("install-personal");
    let as_nobody = is_root();
    let dest = ok(s.command(as_nobody, &s.script("install.sh"), &["--print-dest"])).trim().to_owned();
    let installed = PathBuf::from(&dest).join("libdcomauth.so");
    // A copy in the global folder (someone ran install.sh as root) is listed instead of this one.
    let global = Path::new(&global_epan()).join("libdcomauth.so");
    let global_copy = global.exists();
    let script = |name: &str| {
        let mut c = s.command(as_nobody, &s.script(name), &[]);
        c.env("DCOMAUTH_SO", &s.so);
        run(c)
    };
    let tshark_plugins = || ok(s.command(as_nobody, "tshark", &["-G", "plugins"]));

    let out = script("install.sh");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "install.sh failed:\n{stdout}\n{stderr}");
    // Its findings are tshark's -T fields output, which escapes backslashes from 4.4 on.
    let stdout = String::from_utf8_lossy(&harness::fields_as_4_0(stdout.as_bytes())).into_owned();
    assert!(stdout.starts_with(&format!("dcomauth: installed {}\n", installed.display())), "{stdout}");
    assert_eq!(fs::read(&installed).expect("installed plugin"), fs::read(&s.so).expect("built plugin"));
    // What install.sh shows: the plugin listed, then the case study's findings.
    assert!(stdout.contains("\n== tshark -G plugins\nlibdcomauth.so"), "{stdout}");
    assert!(
        stdout.contains(
            "\n12\tREDMOND\\jiangyue\tIdentity changed inside the association: REDMOND\\jiangyue (auth ctx 79232, IRemUnknown2) after \\administrator (frame 6)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("Server closed the association (FIN) 1.0 ms after the identity change (frame 12)"),
        "{stdout}"
    );
    let summary = stdout.split("\n== tshark -q -z dcomauth,summary\n").nth(1).expect("install.sh shows the summary");
    assert!(summary.contains("server FIN in frame 18"), "{summary}");
    // The batch command goes beside the plugin, into the user's ~/.local/bin.
    let batch = s.home.join(".local/bin/dcomauth-batch");
    assert!(stdout.contains(&format!("dcomauth: installed {}\n", batch.display())), "{stdout}");
    assert!(stdout.contains("\"uid\":"), "install.sh shows a JSON line: {stdout}");
    if global_copy {
        assert!(stderr.contains(&format!("note: {} exists too", global.display())), "{stderr}");
    } else {
        let line = listed(&tshark_plugins()).expect("the user's tshark lists the plugin");
        assert!(line.contains(&*installed.to_string_lossy()), "{line}");
    }

    let out = script("install.sh");
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(
        text(&out).0.starts_with(&format!("dcomauth: {} is up to date\n", installed.display())),
        "{:?}",
        text(&out)
    );

    let out = script("uninstall.sh");
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(text(&out).0.starts_with(&format!("dcomauth: removed {}\n", installed.display())), "{:?}", text(&out));
    assert!(!installed.exists());
    assert!(!batch.exists(), "uninstall.sh leaves {}", batch.display());
    if global_copy {
        assert!(text(&out).0.contains("is still installed for every user"), "{:?}", text(&out));
    } else {
        assert_eq!(listed(&tshark_plugins()), None, "the user's tshark still loads the plugin");
    }

    let out = script("uninstall.sh");
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(
        text(&out).0.starts_with(&format!("dcomauth: nothing to remove: {} does not exist\n", installed.display())),
        "{:?}",
        text(&out)
    );
}
