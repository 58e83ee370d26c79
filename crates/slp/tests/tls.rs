//! TLS end to end with the real binary: servers refuse plain HTTP on a public address unless
//! told, and the connected relay topology (device push → relay → authority API) runs entirely
//! over HTTPS on certificates made here; clients without the CA, or with another one, are
//! refused with a certificate error and change nothing.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use serde_json::Value;

use crate::util::{Lab, T0, auth, authority, field, init_sw1, start_service};

const T1: &str = "2026-11-01T10:00:00Z";

/// A CA (its certificate in `<name>.pem`) and, with `server`, a certificate for 127.0.0.1 and
/// localhost signed by it (`<name>-server.pem`, `<name>-server.key`).
fn make_ca(lab: &Lab, name: &str, server: bool) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, format!("{name} CA"));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(lab.path(&format!("{name}.pem")), cert.pem()).unwrap();
    if server {
        let issuer = Issuer::new(params, key);
        let server_key = KeyPair::generate().unwrap();
        let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
        let server_cert =
            CertificateParams::new(names).unwrap().signed_by(&server_key, &issuer).unwrap();
        std::fs::write(lab.path(&format!("{name}-server.pem")), server_cert.pem()).unwrap();
        std::fs::write(lab.path(&format!("{name}-server.key")), server_key.serialize_pem())
            .unwrap();
    }
}

#[test]
fn servers_refuse_plain_http_on_a_public_address_unless_insecure_http_is_given() {
    let lab = Lab::new();
    init_sw1(&lab, T1);
    let commands: [&[&str]; 3] = [
        &["authority", "--data", "A", "serve", "--listen", "0.0.0.0:0"],
        &["relay", "--data", "R", "serve", "--listen", "0.0.0.0:0"],
        &["device", "--state", "D", "run", "--mgmt", "0.0.0.0:0"],
    ];
    for command in commands {
        let out = lab.fails(T1, command);
        assert!(out.contains("refusing to serve plain HTTP on 0.0.0.0:0"), "{command:?}: {out}");
        assert!(out.contains("--tls-cert FILE --tls-key FILE"), "{out}");
        assert!(out.contains("--insecure-http"), "{out}");
    }
    // Refused before anything was opened or written.
    assert!(!lab.path("A").exists() && !lab.path("R").exists());
    assert!(!lab.path("D/run.json").exists());

    // A certificate that is not there, or a key without its certificate: named, refused.
    let out = lab.fails(
        T1,
        &["authority", "--data", "A", "serve", "--listen", "0.0.0.0:0"]
            .into_iter()
            .chain(["--tls-cert", "missing.pem", "--tls-key", "missing.key"])
            .collect::<Vec<_>>(),
    );
    assert!(out.contains("reading the TLS certificate missing.pem"), "{out}");
    let out = lab.fails(T1, &["relay", "--data", "R", "serve", "--tls-key", "server.key"]);
    assert!(out.contains("--tls-cert <FILE>"), "{out}");
    // The key of another certificate.
    make_ca(&lab, "one", true);
    make_ca(&lab, "two", true);
    let out = lab.fails(
        T1,
        &["device", "--state", "D", "run", "--mgmt", "0.0.0.0:0", "--tls-cert", "one-server.pem"]
            .into_iter()
            .chain(["--tls-key", "two-server.key"])
            .collect::<Vec<_>>(),
    );
    assert!(out.contains("the key does not belong to the certificate"), "{out}");
    assert!(!lab.path("A").exists() && !lab.path("R").exists());

    // --insecure-http: the operator's decision (behind a proxy that terminates TLS).
    for command in commands {
        let mut args = command.to_vec();
        args.push("--insecure-http");
        let server = start_service(&lab, T1, &args);
        assert!(server.url.starts_with("http://"), "{command:?}: {}", server.url);
    }
}

/// `slp relay --data R <args>` at T1, with `--ca ca.pem`.
fn relay(lab: &Lab, args: &[&str]) -> String {
    let mut all = vec!["relay", "--data", "R", "--ca", "ca.pem"];
    all.extend_from_slice(args);
    lab.ok(T1, &all)
}

/// Points the device in `dir` at the relay's push endpoint `url`.
fn point_at_relay(lab: &Lab, dir: &str, url: &str) {
    lab.exec(
        dir,
        T1,
        &[
            "configure terminal",
            "license boot level network-advantage",
            "license smart transport cslu",
            &format!("license smart url cslu {url}/cslu/v1/pi"),
            "end",
            "write memory",
            "reload",
        ],
    );
}

#[test]
fn relay_push_to_the_authority_runs_entirely_over_tls_and_clients_without_the_ca_are_refused() {
    let lab = Lab::new();
    make_ca(&lab, "ca", true);
    make_ca(&lab, "other", false);
    authority(&lab);
    let client: Value = serde_json::from_str(&auth(
        &lab,
        T0,
        &["client", "create", "--account", "example.com", "--name", "relay", "--role", "reporter"]
            .into_iter()
            .chain(["--json"])
            .collect::<Vec<_>>(),
    ))
    .unwrap();
    let tls = ["--tls-cert", "ca-server.pem", "--tls-key", "ca-server.key"];
    let authority_server = start_service(
        &lab,
        T1,
        &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"]
            .into_iter()
            .chain(tls)
            .collect::<Vec<_>>(),
    );
    assert!(authority_server.url.starts_with("https://127.0.0.1:"), "{}", authority_server.url);
    let (id, secret) =
        (client["client_id"].as_str().unwrap(), client["client_secret"].as_str().unwrap());
    relay(
        &lab,
        &["prefs", "set", "--connected", "--account", "example.com", "--va", "Lab"]
            .into_iter()
            .chain(["--authority-url", &authority_server.url, "--client-id", id])
            .chain(["--client-secret", secret])
            .collect::<Vec<_>>(),
    );
    let relay_server = start_service(
        &lab,
        T1,
        &["relay", "--data", "R", "serve", "--listen", "127.0.0.1:0", "--sync-interval", "86400"]
            .into_iter()
            .chain(tls)
            .chain(["--ca", "ca.pem"])
            .collect::<Vec<_>>(),
    );
    assert!(relay_server.url.starts_with("https://127.0.0.1:"), "{}", relay_server.url);

    // A device without the CA in its trust pool: its push is refused by its own check of the
    // relay's certificate, with the reason in the system message.
    lab.ok(T1, &["device", "--state", "E", "init", "--pid", "C9300-24UX", "--sn", "FOC0000TLS1"]);
    point_at_relay(&lab, "E", &relay_server.url);
    let out = lab.exec("E", T1, &["license smart sync all", "show license status"]);
    assert!(out.contains("%SMART_LIC-3-COMM_FAILED"), "{out}");
    assert!(out.contains("certificate is not trusted"), "{out}");
    assert_eq!(field(&out, "Last report push:"), "<none>", "{out}");
    // A CA file that holds no certificate changes nothing.
    std::fs::write(lab.path("junk.pem"), "not a certificate").unwrap();
    let out = lab.fails(T1, &["device", "--state", "E", "run", "--ca", "junk.pem"]);
    assert!(out.contains("junk.pem holds no PEM certificate"), "{out}");
    assert!(!lab.path("E/trustpool.pem").exists());

    // sw1, created with the CA: pushes over HTTPS; the relay forwards over HTTPS.
    lab.ok(
        T1,
        &["device", "--state", "D", "init", "--pid", "C9300-24UX", "--sn", "FOC2233A5ZV"]
            .into_iter()
            .chain(["--hostname", "sw1", "--ca", "ca.pem"])
            .collect::<Vec<_>>(),
    );
    point_at_relay(&lab, "D", &relay_server.url);
    let out = lab.exec("D", T1, &["license smart sync all", "show license status"]);
    assert!(!out.contains("COMM_FAILED"), "{out}");
    assert_ne!(field(&out, "Last report push:"), "<none>", "{out}");

    // The relay's command line without the CA, or with another CA: the authority is not
    // trusted, nothing is sent.
    for ca in [None, Some("other.pem")] {
        let mut args = vec!["relay", "--data", "R"];
        if let Some(ca) = ca {
            args.extend(["--ca", ca]);
        }
        args.push("sync");
        let out = lab.run(T1, &args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{ca:?}: {text}");
        assert!(text.contains("certificate is not trusted"), "{ca:?}: {text}");
        assert!(text.contains("UnknownIssuer"), "{text}");
        assert!(!text.contains("sent 1 document(s)"), "{text}");
    }

    // With the CA: forwarded, answered, and the ACK reaches the device on its next poll.
    let out = relay(&lab, &["sync"]);
    assert!(out.contains("sent 1 document(s) to the authority, received 1 answer(s)"), "{out}");
    let out = lab.exec("D", T1, &["license smart sync all", "show license status"]);
    assert_eq!(field(&out, "Last ACK received:"), "Nov 01 10:00:00 2026 UTC", "{out}");
    let pis = auth(&lab, T1, &["pi", "list", "--account", "example.com", "--va", "Lab"]);
    assert!(pis.contains("FOC2233A5ZV"), "{pis}");
    assert!(!pis.contains("FOC0000TLS1"), "the refused device never reached the authority");
    drop(relay_server);
    drop(authority_server);
}

#[test]
fn a_device_service_over_tls_is_reached_by_exec_and_pulled_by_the_relay_over_https() {
    let lab = Lab::new();
    make_ca(&lab, "ca", true);
    init_sw1(&lab, T1);
    lab.exec(
        "D",
        T1,
        &["configure terminal", "username admin privilege 15 password s3cret", "end"],
    );
    let device = start_service(
        &lab,
        T1,
        &["device", "--state", "D", "run", "--mgmt", "127.0.0.1:0"]
            .into_iter()
            .chain(["--tls-cert", "ca-server.pem", "--tls-key", "ca-server.key"])
            .collect::<Vec<_>>(),
    );
    assert!(device.url.starts_with("https://127.0.0.1:"), "{}", device.url);
    // exec goes to the running service over HTTPS (it pins the service's certificate).
    let out = lab.exec("D", T1, &["show license udi"]);
    assert!(out.contains("FOC2233A5ZV"), "{out}");
    assert!(lab.path("D/run.json").exists(), "exec used the running service");
    // Another certificate in run.json than the one the service serves: exec refuses, and does
    // not take the service for gone (it would run the commands beside it).
    let saved = lab.read("D/run.json");
    let mut info: Value = serde_json::from_str(&saved).unwrap();
    let other = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut der = b64.decode(info["cert"].as_str().unwrap()).unwrap();
        let last = der.len() - 1;
        der[last] ^= 0xff;
        b64.encode(der)
    };
    info["cert"] = Value::String(other);
    std::fs::write(lab.path("D/run.json"), info.to_string()).unwrap();
    let out = lab.fails(T1, &["device", "--state", "D", "exec", "show license udi"]);
    assert!(out.contains(&format!("the device service at {}", device.url)), "{out}");
    assert!(out.contains("certificate is not trusted"), "{out}");
    assert!(lab.path("D/run.json").exists(), "run.json kept: the service is not gone");
    std::fs::write(lab.path("D/run.json"), saved).unwrap();

    // The relay pulls over HTTPS with the CA; without it the device is not trusted.
    relay(&lab, &["prefs", "set", "--disconnected", "--account", "example.com", "--va", "Lab"]);
    relay(
        &lab,
        &["pi", "add", "--host", &device.url, "--connect-method", "rest-pull"]
            .into_iter()
            .chain(["--username", "admin", "--password", "s3cret"])
            .collect::<Vec<_>>(),
    );
    let out = lab.run(T1, &["relay", "--data", "R", "collect"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("certificate is not trusted"), "{text}");
    let out = relay(&lab, &["collect"]);
    assert!(out.contains("FOC2233A5ZV"), "{out}");
    assert!(!out.contains("not trusted"), "{out}");
}
