//! A three-node JetStream cluster on loopback.

use std::fmt::Write as _;

use crate::{NatsServer, free_port};

/// Servers in a cluster: the smallest size with a JetStream quorum that survives a loss.
const NODES: usize = 3;

/// Three servers routed to each other, each with its own store. Dropping it kills them all.
pub struct NatsCluster {
    nodes: Vec<NatsServer>,
}

impl NatsCluster {
    /// Starts the cluster and waits until every node serves JetStream (a meta leader exists).
    pub async fn start() -> Self {
        // A free port can be taken by someone else before a node binds it: try again.
        let mut last = String::new();
        for _ in 0..5 {
            match Self::try_start().await {
                Ok(cluster) => return cluster,
                Err(failure) if failure.contains("address already in use") => last = failure,
                Err(failure) => panic!("{failure}"),
            }
        }
        panic!("{last}");
    }

    /// One try of [`NatsCluster::start`] on newly chosen ports; what failed, with its log.
    async fn try_start() -> Result<Self, String> {
        let client_ports: Vec<u16> = (0..NODES).map(|_| free_port()).collect();
        let route_ports: Vec<u16> = (0..NODES).map(|_| free_port()).collect();
        let routes = route_ports
            .iter()
            .map(|p| format!("nats-route://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut nodes: Vec<NatsServer> = (0..NODES)
            .map(|i| {
                let name = format!("hookwire-n{}", i + 1);
                NatsServer::prepare(&name, client_ports[i], |store, monitor| {
                    let mut config = String::new();
                    let _ = write!(
                        config,
                        "server_name: {name}\nlisten: 127.0.0.1:{client}\nhttp: 127.0.0.1:{monitor}\n\
                         jetstream {{\n  store_dir: \"{store}\"\n}}\n\
                         cluster {{\n  name: hookwire-test\n  listen: 127.0.0.1:{route}\n  routes: [{routes}]\n}}\n",
                        client = client_ports[i],
                        route = route_ports[i],
                        store = store.display(),
                    );
                    config
                })
            })
            .collect();
        for node in &mut nodes {
            node.spawn();
        }
        for node in &mut nodes {
            if let Err(e) = node.wait_ready().await {
                return Err(format!(
                    "cluster node {} not ready: {e}; its log:\n{}",
                    node.url(),
                    node.log()
                ));
            }
        }
        Ok(Self { nodes })
    }

    /// The nodes, to stop, kill or restart one.
    pub fn nodes(&mut self) -> &mut [NatsServer] {
        &mut self.nodes
    }

    /// The nodes' process ids (of those running).
    #[must_use]
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().filter_map(NatsServer::pid).collect()
    }

    /// A client that knows every node, so it fails over when one goes down.
    pub async fn client(&self) -> async_nats::Client {
        let addrs: Vec<async_nats::ServerAddr> = self
            .nodes
            .iter()
            .map(|n| n.url().parse().expect("the kit writes valid URLs"))
            .collect();
        async_nats::connect(addrs)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the cluster {}: {e}", self.urls()))
    }

    /// Every node's URL, comma-separated, as `--server` takes them.
    #[must_use]
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }
}
