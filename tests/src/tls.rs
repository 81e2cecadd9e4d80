//! A throwaway certificate authority for HTTPS receivers: a CA, server certificates for
//! `localhost` and `127.0.0.1`, and client certificates for mutual TLS.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;

/// A CA made for one test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// How an HTTPS receiver's TLS is set up.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerTls {
    /// Offer TLS 1.2 only (to test a client's minimum version).
    pub tls12_only: bool,
    /// Require a client certificate issued by the CA (mutual TLS).
    pub require_client_cert: bool,
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

impl TestCa {
    /// A new CA with a fresh key.
    #[must_use]
    pub fn new() -> Self {
        let mut params =
            CertificateParams::new(Vec::<String>::new()).expect("empty names are valid");
        params
            .distinguished_name
            .push(DnType::CommonName, "Hookwire test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("a key pair generates");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("the CA signs itself");
        Self { issuer }
    }

    /// The CA certificate in PEM, for a client's trust store.
    #[must_use]
    pub fn ca_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate and key for `names` (host names or addresses), signed by this CA.
    fn issue(&self, names: &[&str], common_name: &str) -> (rcgen::Certificate, KeyPair) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("test names are valid");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let key = KeyPair::generate().expect("a key pair generates");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("the CA signs the certificate");
        (cert, key)
    }

    /// A client certificate and its key in one PEM text (what an mTLS client presents).
    #[must_use]
    pub fn client_identity_pem(&self, common_name: &str) -> String {
        let (cert, key) = self.issue(&[], common_name);
        format!("{}{}", cert.pem(), key.serialize_pem())
    }

    /// A server certificate for `localhost` and `127.0.0.1` and its key, in PEM (for a
    /// server that reads them from files).
    #[must_use]
    pub fn server_pem(&self) -> (String, String) {
        let (cert, key) = self.issue(&["localhost", "127.0.0.1"], "localhost");
        (cert.pem(), key.serialize_pem())
    }

    /// A server configuration for `localhost` and `127.0.0.1`.
    #[must_use]
    pub fn server_config(&self, tls: ServerTls) -> Arc<rustls::ServerConfig> {
        let (cert, key) = self.issue(&["localhost", "127.0.0.1"], "localhost");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] = if tls.tls12_only {
            &[&rustls::version::TLS12]
        } else {
            rustls::DEFAULT_VERSIONS
        };
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(versions)
            .expect("ring supports these versions");
        let builder = if tls.require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            roots
                .add(self.issuer.der().clone())
                .expect("the CA certificate is valid");
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("a client verifier builds");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder
            .with_single_cert(vec![cert.der().clone()], key)
            .expect("the certificate matches its key");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}
