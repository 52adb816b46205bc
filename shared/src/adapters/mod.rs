//! Adapters: DynamoDB (`store`), SQS (`queue`), the payment provider,
//! the carrier, SES and EventBridge (`outbound`), CloudWatch's embedded
//! metrics (`metrics`) and Parameter
//! Store (`secrets`). They turn model values into requests and the answers back
//! into model values, and decide nothing. Name foundation and model only.

pub mod calls;
pub mod carrier;
pub mod fx;
pub mod metrics;
pub mod outbound;
pub mod payments;
pub mod queue;
pub mod secrets;
pub mod store;

/// The AWS SDK's retries for the shop's clients: the standard mode
/// (throttling, transient faults, server errors) with five attempts and at
/// most a second between them, well inside a function's deadline.
pub fn retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(5)
        .with_initial_backoff(std::time::Duration::from_millis(20))
        .with_max_backoff(std::time::Duration::from_secs(1))
}

/// The AWS settings of a function, from what Lambda puts in its
/// environment and nothing else: the region (`AWS_REGION`), the execution
/// role's credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, read as the SDK's environment provider reads
/// them) and, locally, `AWS_ENDPOINT_URL`; with [`https_client`].
///
/// aws-config's default chain would also look for profile files, SSO, web
/// identity, container and instance metadata: files and lookups at every
/// cold start that a function never has, and their code (STS among it)
/// linked into every function. The tools, run by people with profiles,
/// use [`aws_defaults`].
pub fn aws_config() -> Result<aws_config::SdkConfig, aws_smithy_http_client::HttpClientError> {
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_sdk_dynamodb::config::SharedCredentialsProvider;
    let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
    let mut config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts())
        .http_client(https_client()?)
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ));
    config.set_region(
        var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .map(aws_config::Region::new),
    );
    config.set_endpoint_url(var("AWS_ENDPOINT_URL"));
    Ok(config.build())
}

/// How long a function's AWS requests may take. Without them the SDK
/// waits on a stalled connection until Lambda's own timeout kills the
/// invocation; with them a stalled attempt is cut and retried (every retry
/// is safe: see [`crate::adapters::store::Store::client_for`]) while the
/// invocation still has time. A request to DynamoDB, SQS or SSM takes
/// milliseconds; 3 s an attempt leaves room for a loaded endpoint, and 8 s
/// for the whole call (its retries included) stays inside the API
/// functions' 10 s timeout.
pub fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
pub const ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);
pub const OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(8);

/// aws-config's usual sources of AWS settings (profiles, SSO, ...) with
/// the shop's HTTPS client, for the tools. The SDK's own default client is
/// not compiled in, so every SDK user starts here or at [`aws_config`].
pub fn aws_defaults() -> Result<aws_config::ConfigLoader, aws_smithy_http_client::HttpClientError> {
    Ok(aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https_client()?))
}

/// The SDK's HTTPS client: rustls on ring, trusting only the root
/// certificates of Amazon Trust Services, compiled in (`aws-roots.pem`).
/// Every endpoint it reaches (DynamoDB, SQS, SSM) chains to one of them.
/// Loading the system's store instead walked `/etc/ssl/certs` (about 150
/// files opened and 300 `stat`s), and parsing ~150 roots took three
/// quarters of the cold start's instructions (measured with callgrind);
/// five roots parse in a few microseconds.
pub fn https_client()
-> Result<aws_sdk_dynamodb::config::SharedHttpClient, aws_smithy_http_client::HttpClientError> {
    use aws_smithy_http_client::tls;
    let roots = tls::TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AWS_ROOTS);
    let context = tls::TlsContext::builder().with_trust_store(roots).build()?;
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
        .tls_context(context)
        .build_https();
    Ok(http)
}

/// A client builder for plain HTTPS calls (the payment provider; the tools
/// and tests). `reqwest`'s rustls takes the process's crypto provider,
/// installed here once: ring, as for the SDK's client (an error means one
/// is installed already).
pub fn http_client() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// Amazon Root CA 1 to 4 and Starfield Services Root Certificate Authority
/// G2 (which cross-signs them), as PEM: taken from the Mozilla store of the
/// `webpki-root-certs` crate, which a test checks them against.
pub const AWS_ROOTS: &[u8] = include_bytes!("aws-roots.pem");

/// The names of the roots in [`AWS_ROOTS`].
pub const AWS_ROOT_NAMES: [&str; 5] = [
    "Amazon Root CA 1",
    "Amazon Root CA 2",
    "Amazon Root CA 3",
    "Amazon Root CA 4",
    "Starfield Services Root Certificate Authority - G2",
];

#[cfg(test)]
mod tests {
    use base64::Engine;

    /// The Mozilla roots of each name in `AWS_ROOT_NAMES`, as PEM.
    fn from_the_mozilla_store() -> String {
        let engine = base64::engine::general_purpose::STANDARD;
        let mut pem = String::new();
        for name in super::AWS_ROOT_NAMES {
            let der = webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .find(|der| {
                    // The name as a DER string: its length, then its bytes
                    // ("Amazon Root CA 1", never a longer name starting so).
                    let mut field = vec![u8::try_from(name.len()).expect("short")];
                    field.extend_from_slice(name.as_bytes());
                    der.as_ref().windows(field.len()).any(|w| w == field)
                })
                .unwrap_or_else(|| panic!("{name} is not in the Mozilla store"));
            pem.push_str("-----BEGIN CERTIFICATE-----\n");
            for line in engine.encode(der.as_ref()).as_bytes().chunks(64) {
                pem.push_str(std::str::from_utf8(line).expect("base64"));
                pem.push('\n');
            }
            pem.push_str("-----END CERTIFICATE-----\n");
        }
        pem
    }

    /// Every function's AWS clients cut a stalled connection, attempt and
    /// call (the SDK sets none by default).
    #[test]
    fn function_clients_time_out() {
        let config = super::aws_config().expect("a configuration");
        let timeouts = config.timeout_config().expect("timeouts are set");
        assert_eq!(timeouts.connect_timeout(), Some(super::CONNECT_TIMEOUT));
        assert_eq!(timeouts.operation_attempt_timeout(), Some(super::ATTEMPT_TIMEOUT));
        assert_eq!(timeouts.operation_timeout(), Some(super::OPERATION_TIMEOUT));
        assert!(
            super::OPERATION_TIMEOUT < std::time::Duration::from_secs(10),
            "inside the API functions' timeout"
        );
    }

    /// The compiled-in roots are exactly Amazon Trust Services' roots as
    /// the Mozilla store has them (`SHOP_WRITE_AWS_ROOTS=1` rewrites the
    /// file from the store).
    #[test]
    fn the_compiled_roots_are_amazons_from_the_mozilla_store() {
        let expected = from_the_mozilla_store();
        if std::env::var_os("SHOP_WRITE_AWS_ROOTS").is_some() {
            std::fs::write(
                concat!(env!("CARGO_MANIFEST_DIR"), "/src/adapters/aws-roots.pem"),
                &expected,
            )
            .expect("written");
        }
        assert_eq!(std::str::from_utf8(super::AWS_ROOTS).expect("PEM"), expected);
        assert_eq!(expected.matches("BEGIN CERTIFICATE").count(), 5);
    }
}
