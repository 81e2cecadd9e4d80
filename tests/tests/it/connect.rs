//! The shared NATS connection options against a real server with authentication.

use std::time::Duration;

use hookwire_nats::connect::InitialConnect;
use hookwire_nats::{ConnectArgs, ConnectError, ContextStore};
use hookwire_testkit::NatsServer;

const AUTH: &str = "authorization { user: ops, password: s3cret }";

#[tokio::test]
async fn user_and_password_from_flags() {
    let server = NatsServer::start_with_config(AUTH).await;
    let args = ConnectArgs {
        server: Some(server.url()),
        user: Some("ops".into()),
        password: Some("s3cret".into()),
        ..ConnectArgs::default()
    };
    let client = args
        .resolve(None)
        .unwrap()
        .connect("hookwire-test", InitialConnect::FailFast)
        .await
        .unwrap();
    client.publish("ping", "x".into()).await.unwrap();
    client.flush().await.unwrap();

    let wrong = ConnectArgs {
        password: Some("wrong".into()),
        ..args
    };
    let error = wrong
        .resolve(None)
        .unwrap()
        .connect("hookwire-test", InitialConnect::FailFast)
        .await
        .unwrap_err();
    assert!(matches!(error, ConnectError::Connect { .. }), "{error:?}");
}

#[tokio::test]
async fn settings_from_a_nats_cli_context() {
    let server = NatsServer::start_with_config(AUTH).await;
    let config = tempfile::tempdir().unwrap();
    let contexts = config.path().join("nats/context");
    std::fs::create_dir_all(&contexts).unwrap();
    std::fs::write(
        contexts.join("local.json"),
        format!(
            r#"{{"url":"{}","user":"ops","password":"s3cret"}}"#,
            server.url()
        ),
    )
    .unwrap();
    let args = ConnectArgs {
        context: Some("local".into()),
        timeout: Some("2s".into()),
        ..ConnectArgs::default()
    };
    let settings = args
        .resolve(Some(&ContextStore::new(config.path())))
        .unwrap();
    assert_eq!(settings.timeout, Duration::from_secs(2));
    let client = settings
        .connect("hookwire-test", InitialConnect::FailFast)
        .await
        .unwrap();
    assert_eq!(
        client.connection_state(),
        async_nats::connection::State::Connected
    );
}

#[tokio::test]
async fn unreachable_server_fails_fast_with_its_address() {
    let port = hookwire_testkit::free_port();
    let args = ConnectArgs {
        server: Some(format!("nats://127.0.0.1:{port}")),
        ..ConnectArgs::default()
    };
    let error = args
        .resolve(None)
        .unwrap()
        .connect("hookwire-test", InitialConnect::FailFast)
        .await
        .unwrap_err();
    assert!(error.to_string().contains(&port.to_string()), "{error}");
}
