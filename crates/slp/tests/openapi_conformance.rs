//! `/openapi.json` as served is exact: the property-based API tester schemathesis (PyPI
//! `schemathesis`) generates schema-valid requests for every operation from the served
//! document and checks that none is refused (no 4xx but 401, 403, 404, 409 and 429), that no
//! answer is a server error, and that every status code, content type and reply body is the
//! documented one. The document states the bounds the handlers enforce (`slp_wire::cssm::limits`),
//! so a request inside them is taken.
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
    auth(&lab, T0, &["va", "create", "--account", "example.com", "--name", "Spare"]);
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
    std::fs::write(lab.path("schemathesis.toml"), CONFIG).expect("write schemathesis.toml");
    // The token endpoints last: every request there is a failed login, and once its address
    // is over the limit (50, and the clock is frozen) every request with credentials from it
    // gets 429 — as documented, but testing nothing more.
    let token_paths = "^/(oauth2|as)/";
    for (select, max_time) in [("--exclude-path-regex", "120"), ("--include-path-regex", "15")] {
        let out = Command::new(&schemathesis)
            .current_dir(lab.path(""))
            .args(["--config-file", "schemathesis.toml"])
            .args(["run", &format!("{}/openapi.json", server.url)])
            .args([select, token_paths])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,positive_data_acceptance",
            ])
            .args(["--mode", "positive", "--phases", "examples,fuzzing", "--seed", "17"])
            .args(["--max-examples", "12", "--workers", "1", "--no-shrink"])
            .args(["--generation-deterministic", "--max-time", max_time])
            .output()
            .expect("run schemathesis");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "schemathesis ({select} {token_paths}) found requests answered otherwise than /openapi.json says:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// schemathesis' settings. The operations whose bodies carry signed documents — RUM reports,
/// system information, authorization requests and returns, usage files and bundles, a removed
/// device's return code — may
/// refuse a body of the documented shape for its content (a bad signature, a report outside
/// the clock window, text that is not a `<smartLicense>` document) with 422, which no schema
/// can rule out; every other refusal of theirs is a 400 for what the document states. Path and
/// header parameters and the names in bodies are mostly drawn from what exists (example.com,
/// virtual accounts 1 = Lab and 2 = Spare, the pool's licenses), so that requests reach the
/// handlers rather than stop at 404.
const CONFIG: &str = r#"
[[operations]]
include-method = "POST"
include-path-regex = "/(v2/devices/(reportusage|authrequest)|virtual-accounts/\\{va\\}/(usage-files|devices/remove))$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]

[dictionaries.smart-accounts]
values = ["example.com", "1"]

[dictionaries.virtual-accounts]
values = ["1", "Lab"]

[dictionaries.targets]
values = ["2", "Spare", "1"]

[dictionaries.licenses]
values = ["network-advantage", "dna-advantage", "hseck9"]

[parameters]
"path.domain" = { dictionary = "smart-accounts", probability = 0.8 }
"path.va" = { dictionary = "virtual-accounts", probability = 0.8 }
"header.X-CSW-VIRTUAL-ACCOUNT-ID" = { dictionary = "virtual-accounts", probability = 0.8 }
"body.license" = { dictionary = "licenses", probability = 0.8 }
"body.licenses[*].license" = { dictionary = "licenses", probability = 0.8 }
"body.licenses[*].targetVirtualAccount" = { dictionary = "targets", probability = 0.8 }
"body.targetVirtualAccount" = { dictionary = "targets", probability = 0.8 }
"body.targetSmartAccount" = { dictionary = "smart-accounts", probability = 0.5 }
"body.productInstances[*].targetVirtualAccount" = { dictionary = "targets", probability = 0.8 }
"#;
