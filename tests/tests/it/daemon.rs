//! `hookwired` as an operator meets it: configuration, provisioning, signals.

use std::time::Duration;

use hookwire_testkit::{NatsServer, free_port, workspace_bin};

use crate::support::Stack;

/// Runs `hookwired` with `args` and `env` until it exits (at most 30 s).
async fn run_hookwired(nats_url: &str, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let data = tempfile::tempdir().unwrap();
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(workspace_bin("hookwired"))
            .args(args)
            .env("NATS_URL", nats_url)
            .env("HOOKWIRE__DATA_DIR", data.path())
            .env(
                "HOOKWIRE__HTTP__LISTEN",
                format!("127.0.0.1:{}", free_port()),
            )
            .envs(env.iter().copied())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("hookwired should have exited")
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn an_incompatible_stream_is_reported_and_left_alone() {
    let server = NatsServer::start().await;
    let js = async_nats::jetstream::new(server.client().await);
    js.create_stream(async_nats::jetstream::stream::Config {
        name: "HOOKWIRE_EVENTS".into(),
        subjects: vec!["hookwire.events.>".into()],
        retention: async_nats::jetstream::stream::RetentionPolicy::WorkQueue,
        ..Default::default()
    })
    .await
    .unwrap();
    js.publish("hookwire.events.default.keep.me", "{}".into())
        .await
        .unwrap()
        .await
        .unwrap();

    let (ok, output) = run_hookwired(&server.url(), &[], &[]).await;
    assert!(
        !ok,
        "hookwired started over an incompatible stream: {output}"
    );
    assert!(
        output.contains("HOOKWIRE_EVENTS") && output.contains("retention"),
        "{output}"
    );
    let mut stream = js.get_stream("HOOKWIRE_EVENTS").await.unwrap();
    assert_eq!(
        stream.info().await.unwrap().state.messages,
        1,
        "the stream was recreated"
    );
}

#[tokio::test]
async fn print_config_shows_the_effective_settings_without_secrets() {
    let (ok, output) = run_hookwired(
        "nats://127.0.0.1:1",
        &["--print-config"],
        &[
            ("HOOKWIRE__DELIVERY__CONCURRENCY", "7"),
            ("NATS_PASSWORD", "hunter2"),
        ],
    )
    .await;
    assert!(ok, "{output}");
    assert!(output.contains("concurrency = 7"), "{output}");
    assert!(!output.contains("hunter2"), "{output}");
}

#[tokio::test]
async fn bad_configuration_fails_at_start_naming_the_key() {
    let (ok, output) = run_hookwired(
        "nats://127.0.0.1:1",
        &[],
        &[("HOOKWIRE__DELIVERY__CONCURRENCY", "0")],
    )
    .await;
    assert!(!ok);
    assert!(output.contains("delivery.concurrency"), "{output}");
}

#[tokio::test]
async fn sigterm_drains_and_exits_cleanly() {
    let mut stack = Stack::start(&[]).await;
    assert!(
        stack.daemon.terminate().await,
        "hookwired did not exit cleanly on SIGTERM:\n{}",
        stack.daemon.log()
    );
    assert!(stack.daemon.log().contains("stopping"));
}

/// `THP_enabled` of a process, from `/proc/<pid>/status`.
fn thp_enabled(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("THP_enabled:"))
        .unwrap_or_else(|| panic!("no THP_enabled in {status}"))
        .trim()
        .to_owned()
}

#[tokio::test]
async fn transparent_huge_pages_are_off_unless_the_allocator_is_told_otherwise() {
    let stack = Stack::start(&[]).await;
    assert_eq!(thp_enabled(stack.daemon.pid().unwrap()), "0");
    let allowed = Stack::start(&[("MIMALLOC_ALLOW_THP", "1")]).await;
    assert_eq!(
        thp_enabled(allowed.daemon.pid().unwrap()),
        thp_enabled(std::process::id()),
        "as the system has it"
    );
}
