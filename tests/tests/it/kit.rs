//! The kit itself: servers come up, restart, form clusters and never outlive a test.

use std::time::Duration;

use hookwire_testkit::{NatsCluster, NatsServer, Receiver, Reply};
use nix::sys::signal::kill;
use nix::unistd::Pid;

const WAIT: Duration = Duration::from_secs(10);

fn is_alive(pid: u32) -> bool {
    kill(Pid::from_raw(i32::try_from(pid).unwrap()), None).is_ok()
}

#[tokio::test]
async fn server_serves_jetstream_and_dies_on_drop() {
    let server = NatsServer::start().await;
    let pid = server.pid().unwrap();
    let jetstream = async_nats::jetstream::new(server.client().await);
    jetstream
        .create_stream(async_nats::jetstream::stream::Config {
            name: "KIT".into(),
            subjects: vec!["kit.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(is_alive(pid));
    drop(server);
    assert!(!is_alive(pid), "nats-server {pid} outlived its handle");
}

/// Runs only when `server_dies_with_a_panicking_test` starts it in a child process.
#[tokio::test]
#[ignore = "helper: run by server_dies_with_a_panicking_test"]
async fn helper_holds_a_server_then_panics() {
    let Some(pid_file) = std::env::var_os("HOOKWIRE_KIT_PID_FILE") else {
        return;
    };
    let server = NatsServer::start().await;
    std::fs::write(pid_file, server.pid().unwrap().to_string()).unwrap();
    panic!("deliberate panic while holding a nats-server");
}

#[tokio::test]
async fn server_dies_with_a_panicking_test() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let status = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "kit::helper_holds_a_server_then_panics",
        ])
        .env("HOOKWIRE_KIT_PID_FILE", &pid_file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .unwrap();
    assert!(!status.success(), "the helper test should have failed");
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .expect("the helper wrote the server's pid before panicking")
        .parse()
        .unwrap();
    assert!(
        !is_alive(pid),
        "nats-server {pid} outlived the panicking test"
    );
}

#[tokio::test]
async fn restart_keeps_port_and_store() {
    let mut server = NatsServer::start().await;
    let port = server.port();
    let jetstream = async_nats::jetstream::new(server.client().await);
    let stream = async_nats::jetstream::stream::Config {
        name: "KEEP".into(),
        subjects: vec!["keep.>".into()],
        ..Default::default()
    };
    jetstream.create_stream(stream).await.unwrap();
    jetstream
        .publish("keep.one", "persisted".into())
        .await
        .unwrap()
        .await
        .unwrap();

    server.restart().await;
    assert_eq!(server.port(), port);
    let jetstream = async_nats::jetstream::new(server.client().await);
    let mut stream = jetstream.get_stream("KEEP").await.unwrap();
    assert_eq!(stream.info().await.unwrap().state.messages, 1);

    let old_pid = server.pid().unwrap();
    server.kill();
    assert!(!is_alive(old_pid));
    server.start_again().await;
    let jetstream = async_nats::jetstream::new(server.client().await);
    let message = jetstream
        .get_stream("KEEP")
        .await
        .unwrap()
        .get_raw_message(1)
        .await
        .unwrap();
    assert_eq!(message.payload.as_ref(), b"persisted");
}

#[tokio::test]
async fn cluster_replicates_a_stream_across_three_nodes() {
    let mut cluster = NatsCluster::start().await;
    let jetstream = async_nats::jetstream::new(cluster.client().await);
    let mut stream = jetstream
        .create_stream(async_nats::jetstream::stream::Config {
            name: "R3".into(),
            subjects: vec!["r3.>".into()],
            num_replicas: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    let info = stream.info().await.unwrap();
    let cluster_info = info.cluster.clone().unwrap();
    assert_eq!(cluster_info.replicas.len() + 1, 3, "{cluster_info:?}");
    let pids: Vec<u32> = cluster.nodes().iter().map(|n| n.pid().unwrap()).collect();
    drop(cluster);
    for pid in pids {
        assert!(!is_alive(pid), "cluster node {pid} outlived the cluster");
    }
}

#[tokio::test]
async fn receiver_records_and_answers_from_its_script() {
    let receiver = Receiver::start().await;
    receiver.script([
        Reply::status(503).retry_after("7"),
        Reply::gone(),
        Reply::redirect(302, "http://127.0.0.1:1/elsewhere"),
        Reply::ok().after(Duration::from_millis(200)).body("late"),
    ]);
    receiver.set_fallback(Reply::status(500));
    let http = hookwire_testkit::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut answers = Vec::new();
    for i in 0..5 {
        let response = http
            .post(receiver.url_for(&format!("/hook?n={i}")))
            .header("x-test", i.to_string())
            .body(format!("body {i}"))
            .send()
            .await
            .unwrap();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        answers.push((
            response.status().as_u16(),
            retry_after,
            response.text().await.unwrap(),
        ));
    }
    assert_eq!(answers[0], (503, Some("7".into()), String::new()));
    assert_eq!(answers[1].0, 410);
    assert_eq!(answers[2].0, 302);
    assert_eq!(answers[3], (200, None, "late".into()));
    assert_eq!(answers[4].0, 500);

    let requests = receiver.wait_for(5, WAIT).await;
    for (i, request) in requests.iter().enumerate() {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, format!("/hook?n={i}"));
        assert_eq!(request.header("x-test"), Some(i.to_string().as_str()));
        assert_eq!(request.body.as_ref(), format!("body {i}").as_bytes());
        assert!(request.verification.is_none(), "no secret, no verification");
    }
    assert!(requests.windows(2).all(|w| w[0].arrived <= w[1].arrived));
}

#[tokio::test]
async fn receiver_can_drop_the_connection() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::drop_connection()]);
    let http = hookwire_testkit::http_client().build().unwrap();
    let dropped = http.post(receiver.url()).body("x").send().await;
    let error = dropped.expect_err("a dropped connection is not an answer");
    assert!(!error.is_status(), "{error:?}");
    let after = http.post(receiver.url()).body("y").send().await.unwrap();
    assert_eq!(after.status().as_u16(), 200);
    assert_eq!(receiver.wait_for(2, WAIT).await.len(), 2);
}

#[tokio::test]
async fn receiver_verifies_standard_webhooks_signatures() {
    use hookwire_protocol::signing::{Secret, VerifyError, signature_header};
    let receiver = Receiver::start().await;
    let secret = Secret::generate();
    receiver.set_secrets(vec![secret.clone()]);
    let now = chrono::Utc::now().timestamp();
    let body = br#"{"type":"a","timestamp":"2026-01-01T00:00:00.000Z","data":{}}"#;
    let http = hookwire_testkit::http_client().build().unwrap();
    let send = |signature: String, body: &'static [u8]| {
        http.post(receiver.url())
            .header("webhook-id", "msg_1")
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
    };
    send(
        signature_header(std::slice::from_ref(&secret), "msg_1", now, body),
        body,
    )
    .await
    .unwrap();
    send(
        signature_header(&[Secret::generate()], "msg_1", now, body),
        body,
    )
    .await
    .unwrap();
    http.post(receiver.url())
        .body("unsigned")
        .send()
        .await
        .unwrap();

    let requests = receiver.wait_for(3, WAIT).await;
    assert_eq!(requests[0].verification, Some(Ok(())));
    assert_eq!(
        requests[1].verification,
        Some(Err(VerifyError::NoMatchingSignature))
    );
    assert_eq!(
        requests[2].verification,
        Some(Err(VerifyError::MissingHeader("webhook-id")))
    );
}

#[tokio::test]
async fn wait_for_fails_loudly_instead_of_hanging() {
    let receiver = Receiver::start().await;
    let waited = tokio::spawn(async move {
        receiver.wait_for(1, Duration::from_millis(100)).await;
    })
    .await;
    let panic = waited.expect_err("waiting for a request that never comes must fail");
    assert!(panic.is_panic());
}
