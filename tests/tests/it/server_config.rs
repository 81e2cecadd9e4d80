//! The nats-server configuration files shipped in `nats/config/` are valid for the server
//! version the project pins.

use hookwire_testkit::{nats_server_bin, workspace_root};

#[tokio::test]
async fn shipped_server_configs_parse() {
    let dir = workspace_root().join("nats/config");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "conf") {
            continue;
        }
        // `-t` only tests the configuration; it starts nothing.
        let output = tokio::process::Command::new(nats_server_bin())
            .arg("-t")
            .arg("-c")
            .arg(&path)
            .output()
            .await
            .unwrap();
        assert!(
            output.status.success(),
            "{} does not parse: {}{}",
            path.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        checked += 1;
    }
    assert_eq!(
        checked, 6,
        "expected quickstart.conf, production.example.conf, accounts.example.conf and cluster-n1..3.conf"
    );
}
