//! `scripts/dcomauth-batch` over a folder of the seed, generated and reference captures with a
//! corrupt file among them: the merged lines are each capture's own `-z dcomauth,json` lines, the
//! summary's counts add up to theirs, the corrupt and truncated captures are in errors.txt, a re-run
//! reads nothing again, and the same command under GNU parallel (two "hosts" reached through a
//! stand-in for ssh) and as a simulated Slurm array gives the same files.
mod harness;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use capgen::scenarios;
use harness::{built_plugin, tshark_with_plugin, TempDir};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn script() -> PathBuf {
    root().join("scripts/dcomauth-batch")
}

/// A file tshark refuses ("isn't a capture file in a format TShark understands"). (tshark 4.0.17
/// reads a file of a few bytes as an empty capture without complaint, so this one is longer.)
fn corrupt_bytes() -> Vec<u8> {
    "this is a text file, not a capture\n".repeat(20).into_bytes()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A folder every user may read, write and enter (tshark runs as `nobody` under root).
fn open_dir(path: &Path) {
    fs::create_dir_all(path).unwrap();
    chmod(path, 0o777);
}

/// A `tshark` command that loads only the plugin cargo built (as `nobody` when we are root, since
/// root's tshark ignores WIRESHARK_PLUGIN_DIR) and logs each invocation's capture to `log`.
struct Wrapper {
    _dir: TempDir,
    path: PathBuf,
    log: PathBuf,
}

impl Wrapper {
    fn new() -> Wrapper {
        let dir = TempDir::new("batch-tshark");
        chmod(&dir.path, 0o777);
        let epan = dir.path.join("plugins").join(env!("DCOMAUTH_WIRESHARK_VERSION")).join("epan");
        for d in [dir.path.join("plugins"), epan.parent().unwrap().to_owned(), epan.clone(), dir.path.join("home")] {
            open_dir(&d);
        }
        fs::copy(built_plugin(), epan.join("libdcomauth.so")).unwrap();
        chmod(&epan.join("libdcomauth.so"), 0o644);
        let log = dir.path.join("invocations.log");
        fs::write(&log, "").unwrap();
        chmod(&log, 0o666);
        let runner = if is_root() { "setpriv --reuid=65534 --regid=65534 --clear-groups --" } else { "" };
        let d = dir.path.display();
        let text = format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> {d}/invocations.log\nexec {runner} env WIRESHARK_PLUGIN_DIR={d}/plugins \
             HOME={d}/home XDG_CONFIG_HOME={d}/home WIRESHARK_CONFIG_DIR={d}/home LC_ALL=C.UTF-8 tshark \"$@\"\n"
        );
        let path = dir.path.join("tshark");
        fs::write(&path, text).unwrap();
        chmod(&path, 0o755);
        Wrapper { _dir: dir, path, log }
    }

    /// Captures read (`-r PATH`) since the log was last cleared.
    fn reads(&self) -> Vec<String> {
        let text = String::from_utf8_lossy(&fs::read(&self.log).unwrap()).into_owned();
        fs::write(&self.log, "").unwrap();
        text.lines().filter(|l| l.contains(" -r ")).map(str::to_owned).collect()
    }
}

fn batch(wrapper: &Wrapper, args: &[&str]) -> Output {
    Command::new(script())
        .args(["--tshark", wrapper.path.to_str().unwrap()])
        .args(args)
        .output()
        .expect("python3 runs scripts/dcomauth-batch")
}

fn ok(out: &Output) -> &Output {
    assert!(
        out.status.success(),
        "dcomauth-batch failed: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn read(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{}/{name}: {e}", dir.display()))
}

/// The folder of captures: seeds at the top, generated ones and the reference ones in subfolders,
/// a corrupt file, and a text file that is no capture (left out by its name).
fn capture_folder(dir: &Path, corrupt: bool) -> Vec<PathBuf> {
    let caps = dir.join("captures");
    for d in [caps.clone(), caps.join("generated"), caps.join("reference/deeper")] {
        open_dir(&d);
    }
    let mut files = Vec::new();
    let mut put = |path: PathBuf, bytes: &[u8]| {
        fs::write(&path, bytes).unwrap();
        chmod(&path, 0o644);
        files.push(path);
    };
    for s in ["seed-winpe", "seed-fullos", "seed-hotfix"] {
        put(caps.join(format!("{s}.pcapng")), &fs::read(root().join(format!("tests/captures/{s}.pcapng"))).unwrap());
    }
    if corrupt {
        for (name, build) in scenarios::all() {
            put(caps.join(format!("generated/{name}.pcapng")), &build().bytes());
        }
        for e in fs::read_dir(harness::reference_captures()).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng" || x == "cap") {
                let to = caps.join("reference/deeper").join(p.file_name().unwrap());
                put(to, &fs::read(&p).unwrap());
            }
        }
        put(caps.join("corrupt.pcapng"), b"\x0a\x0d\x0d\x0a this is not a pcapng section header at all");
    }
    fs::write(caps.join("README.txt"), "not a capture").unwrap();
    files.sort();
    files
}

/// Sums of the summary.csv columns.
fn csv_totals(csv: &str) -> BTreeMap<&str, u64> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut totals = BTreeMap::new();
    for line in lines {
        // Only the identity cell can hold a quoted comma; the counts are the 5 cells before the last.
        let cells: Vec<&str> = line.rsplitn(7, ',').collect();
        for (i, name) in header[3..8].iter().enumerate() {
            let v: u64 = cells[5 - i].parse().unwrap_or_else(|_| panic!("{name} in {line:?}"));
            *totals.entry(*name).or_default() += v;
        }
    }
    totals
}

#[test]
fn a_folder_with_a_corrupt_capture_gives_every_captures_lines_and_counts_and_resumes() {
    let wrapper = Wrapper::new();
    let dir = TempDir::new("batch");
    chmod(&dir.path, 0o755);
    let files = capture_folder(&dir.path, true);
    let out = dir.path.join("out");
    let caps = dir.path.join("captures");
    ok(&batch(&wrapper, &["-j", "2", "-o", out.to_str().unwrap(), caps.to_str().unwrap()]));
    assert_eq!(wrapper.reads().len(), files.len(), "one tshark run per capture, README.txt left out");

    // Each capture on its own, by the test harness's tshark.
    let tshark = tshark_with_plugin();
    let mut expected_lines = String::new();
    let mut expected_errors = Vec::new();
    for f in &files {
        let p = f.to_str().unwrap();
        let o = tshark.output(&["-n", "-q", "-r", p, "-z", &format!("dcomauth,json,capture={p}")]);
        expected_lines.push_str(&String::from_utf8(o.stdout).unwrap());
        if !o.status.success() {
            expected_errors.push(p.to_owned());
        }
    }
    let merged = read(&out, "associations.jsonl");
    assert_eq!(merged, expected_lines, "merged lines are the captures' own, in path order");

    let errors = read(&out, "errors.txt");
    let listed: Vec<&str> = errors.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(listed, expected_errors, "errors.txt:\n{errors}");
    let corrupt = dir.path.join("captures/corrupt.pcapng");
    let line = errors.lines().find(|l| l.starts_with(corrupt.to_str().unwrap())).expect("corrupt file listed");
    assert!(line.contains("unreadable") && line.contains("isn't a capture file"), "{line}");
    assert!(expected_errors.len() >= 2, "the reference folder has a capture cut short: {expected_errors:?}");

    // The summary's counts add up to the lines' own.
    let lines: Vec<Value> = merged.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let sum = |f: &dyn Fn(&Value) -> u64| lines.iter().map(f).sum::<u64>();
    let csv = read(&out, "summary.csv");
    let totals = csv_totals(&csv);
    assert_eq!(totals["changes"], sum(&|l| l["changes"].as_array().unwrap().len() as u64));
    assert_eq!(totals["possible_changes"], sum(&|l| l["possible_changes"].as_array().unwrap().len() as u64));
    assert_eq!(totals["faults"], sum(&|l| l["fault_count"].as_u64().unwrap()));
    assert_eq!(totals["aborts"], sum(&|l| u64::from(!l["abort"].is_null())));
    assert!(totals["associations"] >= lines.len() as u64, "every association counts under some identity");
    // Hand-checked against the case study: WinPE and full OS each change to REDMOND\jiangyue twice.
    assert!(totals["changes"] >= 4 && totals["aborts"] >= 2, "{totals:?}");
    let md = read(&out, "summary.md");
    assert!(
        md.contains(&format!("{} associations, {} identity changes", lines.len(), totals["changes"])),
        "summary.md totals:\n{md}"
    );

    // A re-run reads nothing again and writes the same files.
    let before: Vec<String> =
        ["associations.jsonl", "summary.csv", "summary.md", "errors.txt"].iter().map(|n| read(&out, n)).collect();
    ok(&batch(&wrapper, &["-o", out.to_str().unwrap(), caps.to_str().unwrap()]));
    assert_eq!(wrapper.reads(), Vec::<String>::new(), "a re-run read captures again");
    let after: Vec<String> =
        ["associations.jsonl", "summary.csv", "summary.md", "errors.txt"].iter().map(|n| read(&out, n)).collect();
    assert_eq!(before, after);
    // A capture that changed since is read again, and only it.
    let changed = dir.path.join("captures/seed-hotfix.pcapng");
    let st = Command::new("touch").args(["-d", "2001-01-01"]).arg(&changed).status().unwrap();
    assert!(st.success());
    ok(&batch(&wrapper, &["-o", out.to_str().unwrap(), caps.to_str().unwrap()]));
    let reads = wrapper.reads();
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert!(reads[0].contains("seed-hotfix.pcapng"));
    assert_eq!(read(&out, "associations.jsonl"), before[0]);
}

/// A file name with a quote, a comma and a byte that is not UTF-8: its lines carry the name with
/// U+FFFD for that byte, errors.txt and the resume record keep its bytes.
#[test]
fn a_capture_whose_name_is_not_utf8_is_read_and_resumed() {
    use std::os::unix::ffi::OsStrExt;
    let wrapper = Wrapper::new();
    let dir = TempDir::new("batch-names");
    chmod(&dir.path, 0o755);
    let caps = dir.path.join("caps");
    open_dir(&caps);
    let odd = caps.join(std::ffi::OsStr::from_bytes(b"we\"ird,\xff name.pcapng"));
    fs::copy(root().join("tests/captures/seed-winpe.pcapng"), &odd).unwrap();
    chmod(&odd, 0o644);
    let out = dir.path.join("out");
    ok(&batch(&wrapper, &["-o", out.to_str().unwrap(), caps.to_str().unwrap()]));
    let lines: Vec<Value> =
        read(&out, "associations.jsonl").lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "the WinPE capture's three associations");
    let expected = String::from_utf8_lossy(odd.as_os_str().as_bytes()).into_owned();
    assert!(expected.contains('\u{fffd}'));
    assert!(lines.iter().all(|l| l["capture"] == expected.as_str()), "{:?}", lines[0]["capture"]);
    assert_eq!(wrapper.reads().len(), 1);
    ok(&batch(&wrapper, &["-o", out.to_str().unwrap(), caps.to_str().unwrap()]));
    assert!(wrapper.reads().is_empty(), "re-read a capture already done");
}

#[test]
fn nothing_readable_is_a_failure_and_bad_arguments_are_refused() {
    let wrapper = Wrapper::new();
    let dir = TempDir::new("batch-bad");
    chmod(&dir.path, 0o755);
    let bad = dir.path.join("bad.pcap");
    fs::write(&bad, corrupt_bytes()).unwrap();
    chmod(&bad, 0o644);
    let out = dir.path.join("out");
    let o = batch(&wrapper, &["-o", out.to_str().unwrap(), bad.to_str().unwrap(), "/nonexistent/x.pcap"]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let errors = read(&out, "errors.txt");
    assert!(errors.contains(&format!("{}\tunreadable: ", bad.display())), "{errors}");
    assert!(errors.contains("/nonexistent/x.pcap\tno such file or folder"), "{errors}");
    assert_eq!(read(&out, "associations.jsonl"), "");
    // A tshark without the plugin (an empty plugin folder; as `nobody` when root, so that it applies)
    // is refused before any capture is read.
    let empty = dir.path.join("no-plugins");
    open_dir(&empty);
    let runner = if is_root() { "setpriv --reuid=65534 --regid=65534 --clear-groups --" } else { "" };
    let plain = dir.path.join("plain-tshark");
    fs::write(
        &plain,
        format!("#!/bin/sh\nexec {runner} env WIRESHARK_PLUGIN_DIR={} HOME=/tmp tshark \"$@\"\n", empty.display()),
    )
    .unwrap();
    chmod(&plain, 0o755);
    let o = Command::new(script())
        .args(["--tshark", plain.to_str().unwrap(), "-o"])
        .arg(dir.path.join("out2"))
        .arg(root().join("tests/captures/seed-winpe.pcapng"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not offer -z dcomauth,json"));
}

#[test]
fn an_empty_share_succeeds_and_a_missing_path_outlives_the_final_merge() {
    let wrapper = Wrapper::new();
    let dir = TempDir::new("batch-share");
    chmod(&dir.path, 0o755);
    let out = dir.path.join("out");
    let empty = dir.path.join("empty.txt");
    fs::write(&empty, "").unwrap();
    // GNU parallel or split may hand a machine nothing; that share is not a failure of the batch.
    let o = batch(&wrapper, &["-o", out.to_str().unwrap(), "--from", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    // A share whose only path is missing fails, and says why even without a terminal.
    let late = dir.path.join("late.pcapng");
    let list = dir.path.join("share.txt");
    fs::write(&list, format!("{}\n", late.display())).unwrap();
    let o = batch(&wrapper, &["-o", out.to_str().unwrap(), "--from", list.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("none of the captures given could be read"));
    // Another machine's share is read meanwhile; the final merge still lists the missing path,
    // even once the file has turned up: nobody has read it.
    let seed = root().join("tests/captures/seed-winpe.pcapng");
    ok(&batch(&wrapper, &["-o", out.to_str().unwrap(), seed.to_str().unwrap()]));
    fs::copy(&seed, &late).unwrap();
    chmod(&late, 0o644);
    ok(&batch(&wrapper, &["-o", out.to_str().unwrap()]));
    assert_eq!(read(&out, "errors.txt"), format!("{}\tno such file or folder\n", late.display()));
    assert_eq!(read(&out, "associations.jsonl").lines().count(), 3, "the WinPE seed's three associations");
    // Given again, it is read, and no longer missing.
    ok(&batch(&wrapper, &["-o", out.to_str().unwrap(), "--from", list.to_str().unwrap()]));
    assert_eq!(read(&out, "errors.txt"), "");
    assert_eq!(read(&out, "associations.jsonl").lines().count(), 6, "both copies' associations");
}

/// GNU parallel from Debian, installed when missing (root only; otherwise the test says so).
fn parallel() -> &'static str {
    let have = || Command::new("parallel").arg("--version").output().is_ok_and(|o| o.status.success());
    if !have() && is_root() {
        let _ = Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends", "parallel"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
    }
    assert!(have(), "GNU parallel is needed: apt-get install parallel");
    "parallel"
}

#[test]
fn gnu_parallel_over_two_hosts_and_a_slurm_array_give_the_one_machine_result() {
    let wrapper = Wrapper::new();
    let dir = TempDir::new("batch-spread");
    chmod(&dir.path, 0o755);
    let files = capture_folder(&dir.path, false);
    let mut list: Vec<PathBuf> = files.clone();
    // A few generated and reference captures, and a corrupt one, beside the seeds.
    let extra = [("ipv6", scenarios::ipv6 as fn() -> capgen::net::Capture), ("bind-nak", scenarios::bind_nak)];
    for (name, build) in extra {
        let p = dir.path.join(format!("captures/{name}.pcapng"));
        fs::write(&p, build().bytes()).unwrap();
        chmod(&p, 0o644);
        list.push(p);
    }
    for name in ["zeek_mapi.pcap", "sv_dcerpc-ctxids.pcap"] {
        let p = dir.path.join(format!("captures/{name}"));
        fs::copy(harness::reference_captures().join(name), &p).unwrap();
        chmod(&p, 0o644);
        list.push(p);
    }
    let bad = dir.path.join("captures/corrupt.pcap");
    fs::write(&bad, corrupt_bytes()).unwrap();
    chmod(&bad, 0o644);
    list.push(bad);
    list.sort();
    let list_file = dir.path.join("captures.txt");
    fs::write(&list_file, list.iter().map(|p| format!("{}\n", p.display())).collect::<String>()).unwrap();

    let one = dir.path.join("one");
    ok(&batch(&wrapper, &["-j", "2", "-o", one.to_str().unwrap(), "--from", list_file.to_str().unwrap()]));
    wrapper.reads();

    // Two hosts in an --sshloginfile, each reached through a stand-in for ssh that runs the
    // command here (GNU parallel calls it as `<ssh> <host> -- exec perl ...`) and notes the host. Like
    // sshd it sets SHELL, which GNU parallel's remote worker runs the command with (CI has none).
    let ssh = dir.path.join("fake-ssh");
    let ssh_log = dir.path.join("ssh.log");
    fs::write(
        &ssh,
        format!(
            "#!/bin/sh\necho \"$1\" >> {}\nshift\n[ \"$1\" = \"--\" ] && shift\nSHELL=/bin/sh exec sh -c \"$*\"\n",
            ssh_log.display()
        ),
    )
    .unwrap();
    chmod(&ssh, 0o755);
    let hosts = dir.path.join("hosts");
    fs::write(&hosts, format!("1/{} host-a\n1/{} host-b\n", ssh.display(), ssh.display())).unwrap();
    let spread = dir.path.join("spread");
    // docs/batch.md's command, with the test's tshark. Blocks of two sorted paths put corrupt.pcap
    // beside bind-nak.pcapng, so no host's share is all unreadable and every share exits 0 (an empty
    // one too), whichever host gets which blocks.
    let cmd = format!(
        "{parallel} --sshloginfile {hosts} --pipe --roundrobin -N 2 {script} -j 1 -o {out} --tshark {tshark} --from - \
         < {list} && {script} -o {out}",
        parallel = parallel(),
        hosts = hosts.display(),
        script = script().display(),
        out = spread.display(),
        tshark = wrapper.path.display(),
        list = list_file.display(),
    );
    let o = Command::new("bash").arg("-c").arg(&cmd).output().unwrap();
    ok(&o);
    let used = fs::read_to_string(&ssh_log).unwrap();
    assert!(used.contains("host-a") && used.contains("host-b"), "both hosts got work: {used:?}");
    assert_eq!(wrapper.reads().len(), list.len(), "each capture read once across the hosts");

    // A Slurm array of three tasks, each taking its share of the list with split (as docs/batch.md).
    let slurm = dir.path.join("slurm");
    for task in 0..3 {
        let body = format!(
            "split -n l/$((SLURM_ARRAY_TASK_ID + 1))/$SLURM_ARRAY_TASK_COUNT {list} | {script} -j 1 -o {out} \
             --tshark {tshark} --from -",
            list = list_file.display(),
            script = script().display(),
            out = slurm.display(),
            tshark = wrapper.path.display(),
        );
        let o = Command::new("bash")
            .arg("-c")
            .arg(&body)
            .env("SLURM_ARRAY_TASK_ID", task.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", "3")
            .output()
            .unwrap();
        // A task whose share is only the corrupt file reads nothing: exit 1 is its honest answer.
        assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
    }
    ok(&batch(&wrapper, &["-o", slurm.to_str().unwrap()]));
    assert_eq!(wrapper.reads().len(), list.len(), "each capture read once across the array");

    for name in ["associations.jsonl", "summary.csv", "summary.md", "errors.txt"] {
        assert_eq!(read(&spread, name), read(&one, name), "GNU parallel: {name}");
        assert_eq!(read(&slurm, name), read(&one, name), "Slurm: {name}");
    }
    assert!(read(&one, "errors.txt").contains("corrupt.pcap\tunreadable"));
    // The seeds' row, hand-checked against the case study: WinPE has two associations that each change
    // to REDMOND\jiangyue, fault twice under it and are aborted by the server; the full OS one
    // association with two changes and four faults, no abort; the hotfix none (ipv6 is another pair).
    let csv = read(&one, "summary.csv");
    let row = csv.lines().find(|l| l.starts_with("10.0.0.10,10.0.0.20,REDMOND\\jiangyue,")).expect("jiangyue row");
    let cells: Vec<&str> = row.split(',').collect();
    assert_eq!(&cells[3..8], ["3", "4", "0", "8", "2"], "{row}");
}
