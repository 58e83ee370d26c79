//! `/openapi.json` as served is exact: the property-based API tester schemathesis (PyPI
//! `schemathesis`) generates schema-valid requests for every operation from the served
//! document and checks that no answer is a server error and that every status code, content
//! type and reply body is the documented one.
//!
//! The schemathesis executable is named by `SLP_SCHEMATHESIS` (`.ci/run` installs it). Without
//! it the test fails under CI and is skipped, saying so, on a developer machine.

use std::path::PathBuf;
use std::process::Command;

use crate::util::{T0, auth, authority, start_service};

fn schemathesis() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("SLP_SCHEMATHESIS") {
        return Some(PathBuf::from(path));
    }
    assert!(std::env::var("CI").is_err(), "SLP_SCHEMATHESIS must name schemathesis under CI");
    eprintln!(
        "skipping the OpenAPI conformance run: set SLP_SCHEMATHESIS to a schemathesis executable"
    );
    None
}

#[test]
fn schema_valid_requests_get_the_documented_answers() {
    let Some(schemathesis) = schemathesis() else { return };
    let lab = crate::util::Lab::new();
    authority(&lab);
    let out = auth(
        &lab,
        T0,
        &[
            "client",
            "create",
            "--account",
            "example.com",
            "--name",
            "fuzz",
            "--role",
            "admin",
            "--json",
        ],
    );
    let client: serde_json::Value = serde_json::from_str(&out).expect("client JSON");
    let (id, secret) = (
        client["client_id"].as_str().expect("client_id"),
        client["client_secret"].as_str().expect("client_secret"),
    );
    let server =
        start_service(&lab, T0, &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"]);
    let reply: serde_json::Value = reqwest::blocking::Client::new()
        .post(format!("{}/oauth2/token", server.url))
        .form(&[("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret)])
        .send()
        .expect("token request")
        .json()
        .expect("token reply");
    let token = reply["access_token"].as_str().expect("access_token");
    let out = Command::new(schemathesis)
        .current_dir(lab.path(""))
        .args(["run", &format!("{}/openapi.json", server.url)])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args([
            "--checks",
            // `positive_data_acceptance` (schema-valid requests never refused) is not yet
            // passed: the document still lacks some bounds (empty lists, name patterns).
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--mode", "positive", "--phases", "examples,fuzzing", "--seed", "17"])
        .args(["--max-examples", "12", "--workers", "1", "--no-shrink"])
        .args(["--generation-deterministic", "--max-time", "150"])
        .output()
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found requests answered otherwise than /openapi.json says:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
