//! Signers: Stripe's webhook signature (made by Stripe's own library) and
//! AWS SigV4 (for the Lambda API of a deployed stack).

use serde_json::json;

use crate::require_env;

/// The `Stripe-Signature` header Stripe would send with `body`, made by
/// the official `stripe` Python library (`scripts/stripe_sign.py`, one
/// process per test binary), so that the shop's verifier is checked against
/// Stripe's signing rather than against itself. `SHOP_TOOLS_PYTHON` names
/// the interpreter (default: the pinned tools' venv).
pub fn stripe_signature(secret: &str, body: &[u8]) -> String {
    stripe_signature_at(secret, body, None)
}

/// [`stripe_signature`] as made at `timestamp` (Unix seconds).
pub fn stripe_signature_at(secret: &str, body: &[u8], timestamp: Option<i64>) -> String {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
    use std::sync::{Mutex, OnceLock};

    struct Signer {
        _child: Child,
        input: ChildStdin,
        output: BufReader<ChildStdout>,
    }
    static SIGNER: OnceLock<Mutex<Signer>> = OnceLock::new();
    let signer = SIGNER.get_or_init(|| {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let python =
            std::env::var("SHOP_TOOLS_PYTHON").unwrap_or_else(|_| format!("{root}/.tools/venv/bin/python"));
        let mut child = Command::new(&python)
            .arg(format!("{root}/scripts/stripe_sign.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("{python} (run scripts/bootstrap.sh): {err}"));
        let input = child.stdin.take().expect("stdin");
        let output = BufReader::new(child.stdout.take().expect("stdout"));
        Mutex::new(Signer {
            _child: child,
            input,
            output,
        })
    });
    let mut signer = signer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let payload = std::str::from_utf8(body).expect("a JSON body");
    let ask = json!({"secret": secret, "payload": payload, "timestamp": timestamp}).to_string();
    writeln!(signer.input, "{ask}").expect("to the signer");
    let mut header = String::new();
    signer.output.read_line(&mut header).expect("from the signer");
    assert!(header.starts_with("t="), "the signer answered {header:?}");
    header.trim_end().to_owned()
}

/// The headers that sign a request to an AWS API with SigV4, with the
/// credentials and region of the environment.
pub fn sigv4(service: &str, method: &str, url: &str, body: &[u8]) -> Vec<(String, String)> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    let identity = aws_credential_types::Credentials::new(
        require_env("AWS_ACCESS_KEY_ID"),
        require_env("AWS_SECRET_ACCESS_KEY"),
        std::env::var("AWS_SESSION_TOKEN").ok().filter(|t| !t.is_empty()),
        None,
        "environment",
    )
    .into();
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&region)
        .name(service)
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .expect("signing parameters")
        .into();
    let request = SignableRequest::new(method, url, std::iter::empty(), SignableBody::Bytes(body))
        .expect("a signable request");
    let (instructions, _) = sign(request, &params).expect("signed").into_parts();
    let (headers, _) = instructions.into_parts();
    headers
        .into_iter()
        .map(|header| (header.name().to_owned(), header.value().to_owned()))
        .collect()
}
