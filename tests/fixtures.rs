mod common;

use common::scenarios;

#[test]
fn dump() {
    std::fs::create_dir_all("/tmp/gen").unwrap();
    for (name, f) in scenarios::all() {
        let cap = f();
        std::fs::write(format!("/tmp/gen/{name}.pcapng"), cap.bytes()).unwrap();
        eprintln!("{name}: {:?}", cap.marks());
    }
}
