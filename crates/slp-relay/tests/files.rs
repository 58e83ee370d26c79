//! Inventory, preferences and the disconnected file exchange (export bundle, ACK bundle import).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

use crate::common::{Auth, Dev, relay};
use slp_relay::bundle::Format;
use slp_relay::intake::Source;
use slp_relay::{ConnectMethod, PiSpec, PrefsChange, RelayError};
use slp_wire::bundle;

#[tokio::test]
async fn inventory_csv_is_all_or_nothing_and_names_the_bad_line() {
    let t = relay().await;
    let csv = t.dir.path().join("pis.csv");
    std::fs::write(
        &csv,
        "host,connect method,username,password\n127.0.0.1:4100,rest-pull,admin,s3cret\n\"10.0.0.2:443\",RESTAPI,admin,\"p,w\"\n10.0.0.3:80,carrier-pigeon,a,b\n",
    )
    .unwrap();
    let err = t.relay.pi_import(&csv).await.unwrap_err().to_string();
    assert!(err.contains("pis.csv, line 4") && err.contains("carrier-pigeon"), "{err}");
    assert!(t.relay.pi_list().await.unwrap().is_empty(), "nothing imported");

    std::fs::write(&csv, "127.0.0.1:4100,rest-pull,admin,s3cret\n10.0.0.2:443,,admin\n").unwrap();
    let err = t.relay.pi_import(&csv).await.unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("username and password"), "{err}");

    std::fs::write(
        &csv,
        "127.0.0.1:4100,rest-pull,admin,s3cret\n127.0.0.1:4100,rest-pull,admin,x\n",
    )
    .unwrap();
    let err = t.relay.pi_import(&csv).await.unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("already in the inventory"), "{err}");
    assert!(t.relay.pi_list().await.unwrap().is_empty());

    std::fs::write(&csv, "host,method,user,password\n127.0.0.1:4100,rest-pull,admin,s3cret\n\"10.0.0.2:443\",RESTAPI,admin,\"p,w\"\n").unwrap();
    assert_eq!(t.relay.pi_import(&csv).await.unwrap(), 2);
    let list = t.relay.pi_list().await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].host.as_deref(), Some("http://10.0.0.2:443"));
    assert_eq!(list[1].connect_method, "rest-pull");
    assert_eq!(list[1].udi, None);

    // pi add checks its input too.
    let err = t
        .relay
        .pi_add(PiSpec {
            host: Some("h:1".into()),
            connect_method: Some(ConnectMethod::RestPull),
            ..PiSpec::default()
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("--username and --password"), "{err}");
    let err = t
        .relay
        .pi_add(PiSpec { udi: Some("C9300".into()), ..PiSpec::default() })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid UDI"), "{err}");
}

#[tokio::test]
async fn connected_mode_needs_its_settings() {
    let t = relay().await;
    let err = t
        .relay
        .set_prefs(PrefsChange { connected: Some(true), ..PrefsChange::default() })
        .await
        .unwrap_err();
    assert!(
        matches!(err, RelayError::Config(_)) && err.to_string().contains("--authority-url"),
        "{err}"
    );
    assert!(!t.relay.prefs().await.unwrap().connected, "a refused change changes nothing");
    let prefs = t
        .relay
        .set_prefs(PrefsChange {
            connected: Some(true),
            smart_account: Some("example.com".into()),
            virtual_account: Some("Lab".into()),
            authority_url: Some("http://127.0.0.1:9/".into()),
            client_id: Some("id".into()),
            client_secret: Some("secret".into()),
            ..PrefsChange::default()
        })
        .await
        .unwrap();
    assert!(prefs.connected);
    assert_eq!(prefs.authority_url.as_deref(), Some("http://127.0.0.1:9"));
    let shown = serde_json::to_string(&prefs).unwrap();
    assert!(!shown.contains("secret\""), "the secret is never shown: {shown}");
    assert!(shown.contains("\"client_secret_set\":true"));
}

#[tokio::test]
async fn export_bundle_and_ack_bundle_round_trip() {
    let t = relay().await;
    t.relay
        .set_prefs(PrefsChange {
            smart_account: Some("example.com".into()),
            virtual_account: Some("Lab".into()),
            ..PrefsChange::default()
        })
        .await
        .unwrap();
    let (a, b) = (Dev::new("FOC1"), Dev::new("FOC2"));
    let pa =
        t.relay.accept(&a.usage(&[1, 2], "x"), Some(&a.udi_text()), Source::Push).await.unwrap();
    t.relay.accept(&a.usage(&[1, 2, 3], "y"), Some(&a.udi_text()), Source::Push).await.unwrap();
    t.relay.accept(&b.usage(&[5], "z"), Some(&b.udi_text()), Source::Push).await.unwrap();

    let out = t.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let exported = t.relay.export(&out, Format::Bundle).await.unwrap().unwrap();
    assert_eq!(exported.path, out.join("UD_SA_20261101T100000.tar.gz"));
    let names: Vec<&str> = exported.files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        names,
        vec!["dev_C9300-24UX_FOC1_20261101T100000.xml", "dev_C9300-24UX_FOC2_20261101T100000.xml"]
    );
    assert_eq!(
        exported.files[0].2, 3,
        "the two documents of FOC1 merge: reports 1, 2, 3 once each"
    );

    let bytes = std::fs::read(&exported.path).unwrap();
    let read = bundle::read_upload(&bytes, "bundle").unwrap();
    let manifest = read.manifest.text.clone();
    let members: Vec<(String, Vec<u8>)> =
        read.files.iter().map(|(_, name, bytes)| (name.clone(), bytes.clone())).collect();
    let lines: Vec<&str> = manifest.lines().collect();
    assert_eq!(lines[0], "Manifest-Version: 1.0");
    assert!(lines[1].starts_with("Created-By: {\"uuid\": \""), "{manifest}");
    assert!(lines.contains(&"Smart-Account: example.com"));
    assert!(lines.contains(&""));
    assert!(lines.contains(&"Name: /UD_VA_20261101T100000.tar.gz"));
    assert!(lines.contains(&"Specification-VA: Lab"));
    let first = String::from_utf8(members[0].1.clone()).unwrap();
    let doc = slp_wire::xml::Document::parse(&first).unwrap();
    assert_eq!(doc.reports.len(), 3);
    assert_eq!(doc.of(slp_wire::xml::Kind::SystemInfo).count(), 1);
    assert_eq!(doc.of(slp_wire::xml::Kind::TrustRequest).count(), 1);

    // The per-device files for `slp authority usage upload`.
    let xml_dir = t.dir.path().join("xml");
    let exported = t.relay.export(&xml_dir, Format::Xml).await.unwrap().unwrap();
    assert_eq!(std::fs::read_to_string(xml_dir.join(&exported.files[0].0)).unwrap(), first);

    // The authority answers with ACK_<member> files in the same shape.
    let auth = Auth::new();
    auth.pin(&t.relay).await;
    let inner = read.files[0].0.clone();
    let acks = vec![
        (inner.clone(), format!("ACK_{}", members[0].0), auth.ack(&a, &[1, 2, 3]).into_bytes()),
        (inner, format!("ACK_{}", members[1].0), auth.ack(&b, &[5]).into_bytes()),
    ];
    let at = bundle::Stamp {
        creator: "authority",
        smart_account: "example.com",
        virtual_account: "Lab",
        ts: "20261101T110000",
        mtime: 0,
    };
    let ack_file = t.dir.path().join("ACK_UD_SA.tar.gz");
    std::fs::write(&ack_file, bundle::write_ack(&acks, at).unwrap()).unwrap();
    let imported = t.relay.import(&ack_file).await.unwrap();
    assert_eq!(imported.new, 2);
    assert_eq!(imported.answers[0].1, a.udi_text());
    assert!(
        imported.answers[0].0.ends_with(&format!("/ACK_{}", members[0].0)),
        "{:?}",
        imported.answers
    );
    let list = t.relay.pi_list().await.unwrap();
    assert!(list.iter().all(|pi| pi.pending == 0 && pi.alerts == vec!["ACK ready"]), "{list:?}");
    assert!(
        t.relay.export(&out, Format::Bundle).await.unwrap().is_none(),
        "nothing waits any more"
    );
    // The device gets it on its next poll.
    let answer =
        t.relay.poll(&a.udi_text(), pa.poll_id.as_deref().unwrap()).await.unwrap().unwrap();
    assert!(answer.contains("smartLicenseRumAck"));
}

/// A gzipped tar with raw member names (the tar crate refuses to write `..` itself).
fn raw_tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in members {
        let mut header = tar::Header::new_old();
        header.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&out).unwrap();
    gz.finish().unwrap()
}

#[tokio::test]
async fn bad_bundles_name_the_member_and_import_nothing() {
    let t = relay().await;
    let dev = Dev::new("FOC1");
    t.relay.accept(&dev.usage(&[1], "n"), Some(&dev.udi_text()), Source::Push).await.unwrap();
    let auth = Auth::new();
    auth.pin(&t.relay).await;
    let ack = auth.ack(&dev, &[1]);
    let good_inner = raw_tar(&[("ACK_dev_1.xml", ack.as_bytes())]);
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (
            raw_tar(&[
                ("manifest.mf", b"Manifest-Version: 1.0\n"),
                ("../evil.xml", ack.as_bytes()),
            ]),
            "../evil.xml",
            "`..`",
        ),
        (raw_tar(&[("/etc/ACK_x.xml", ack.as_bytes())]), "/etc/ACK_x.xml", "absolute path"),
        (
            raw_tar(&[("ACK_UD_VA.tar.gz", &good_inner), ("notes.txt", b"hi")]),
            "notes.txt",
            "unknown member",
        ),
        (
            raw_tar(&[(
                "ACK_UD_VA.tar.gz",
                &raw_tar(&[("ACK_a.xml", ack.as_bytes()), ("readme", b"x")]),
            )]),
            "ACK_UD_VA.tar.gz/readme",
            "unknown member",
        ),
        (
            raw_tar(&[(
                "ACK_UD_VA.tar.gz",
                &raw_tar(&[("ACK_a.xml", ack.as_bytes()), ("ACK_b.xml", b"<smartLicense><x>")]),
            )]),
            "ACK_UD_VA.tar.gz/ACK_b.xml",
            "malformed XML",
        ),
        (
            raw_tar(&[(
                "ACK_big.xml",
                &vec![b' '; usize::try_from(bundle::MEMBER_LIMIT).unwrap() + 1],
            )]),
            "ACK_big.xml",
            "over the limit",
        ),
    ];
    for (bytes, member, reason) in cases {
        let file = t.dir.path().join("bad.tar.gz");
        std::fs::write(&file, bytes).unwrap();
        let err = t.relay.import(&file).await.unwrap_err().to_string();
        assert!(
            err.contains(&format!("member {member:?}")) && err.contains(reason),
            "{member}: {err}"
        );
    }
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM answers")
        .fetch_one(t.relay.store().pool())
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing imported");

    // A flat bundle with good members is fine; a plain file that is usage is not an ACK.
    let file = t.dir.path().join("flat.tar.gz");
    std::fs::write(&file, raw_tar(&[("ACK_UD_VA.tar.gz", &good_inner)])).unwrap();
    assert_eq!(t.relay.import(&file).await.unwrap().answers.len(), 1);
    let usage = t.dir.path().join("usage.xml");
    std::fs::write(&usage, dev.usage(&[1], "a")).unwrap();
    let err = t.relay.import(&usage).await.unwrap_err().to_string();
    assert!(err.contains("usage.xml") && err.contains("RUM reports"), "{err}");
    // An ACK whose signature does not match the key it names.
    let forged = t.dir.path().join("forged.xml");
    std::fs::write(&forged, ack.replacen("ACCEPTED", "REJECTED", 1)).unwrap();
    let err = t.relay.import(&forged).await.unwrap_err().to_string();
    assert!(err.contains("forged.xml") && err.contains("signature"), "{err}");
}

/// The answers the relay holds, as (UDI, XML), and its inventory UDIs.
async fn answers_and_devices(
    t: &crate::common::TestRelay,
) -> (Vec<(String, String)>, Vec<Option<String>>) {
    let answers: Vec<(String, String)> = sqlx::query_as("SELECT udi, xml FROM answers ORDER BY id")
        .fetch_all(t.relay.store().pool())
        .await
        .unwrap();
    let devices = t.relay.pi_list().await.unwrap().into_iter().map(|p| p.udi).collect();
    (answers, devices)
}

#[tokio::test]
async fn forged_and_stranger_answers_are_refused_and_import_nothing() {
    let t = relay().await;
    let dev = Dev::new("FOC1");
    let pushed = t
        .relay
        .accept(&dev.usage(&[1, 2], "n"), Some(&dev.udi_text()), Source::Push)
        .await
        .unwrap();
    let auth = Auth::new();
    let genuine = t.dir.path().join("genuine.xml");
    std::fs::write(&genuine, auth.ack(&dev, &[1, 2])).unwrap();

    // No key pinned: nothing can be verified, so nothing is imported; the error says how to pin.
    let err = t.relay.import(&genuine).await.unwrap_err();
    assert!(matches!(err, RelayError::NoAuthorityKey { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("genuine.xml")
            && text.contains("slp authority key show")
            && text.contains("slp relay prefs set --authority-key"),
        "{text}"
    );
    let empty = answers_and_devices(&t).await;
    assert!(empty.0.is_empty(), "{empty:?}");
    auth.pin(&t.relay).await;

    // A rogue authority's ACK, well signed by its own key: as a file, and inside a bundle next
    // to a genuine one. Refused, naming the file or member, the UDI and both key ids.
    let rogue = Auth::new();
    let forged = t.dir.path().join("forged.xml");
    std::fs::write(&forged, rogue.ack(&dev, &[1, 2])).unwrap();
    let err = t.relay.import(&forged).await.unwrap_err().to_string();
    let (rogue_id, pinned_id) = (rogue.key.key_id(), auth.key.key_id());
    assert!(
        err.contains("forged.xml")
            && err.contains(&dev.udi_text())
            && err.contains(&rogue_id)
            && err.contains(&pinned_id)
            && err.contains("nothing imported"),
        "{err}"
    );
    let other = Dev::new("FOC2");
    t.relay.accept(&other.usage(&[7], "m"), Some(&other.udi_text()), Source::Push).await.unwrap();
    let inner = "UD_VA_1.tar.gz".to_owned();
    let at = bundle::Stamp {
        creator: "authority",
        smart_account: "example.com",
        virtual_account: "Lab",
        ts: "20261101T110000",
        mtime: 0,
    };
    let mixed = vec![
        (inner.clone(), "ACK_dev_FOC2.xml".to_owned(), auth.ack(&other, &[7]).into_bytes()),
        (inner, "ACK_dev_FOC1.xml".to_owned(), rogue.ack(&dev, &[1, 2]).into_bytes()),
    ];
    let file = t.dir.path().join("ACK_mixed.tar.gz");
    std::fs::write(&file, bundle::write_ack(&mixed, at).unwrap()).unwrap();
    let err = t.relay.import(&file).await.unwrap_err().to_string();
    assert!(err.contains("ACK_dev_FOC1.xml") && err.contains(&rogue_id), "{err}");

    // An ACK for a device the relay never knew: refused, and no device row appears.
    let stranger = Dev::new("FOC7");
    let file = t.dir.path().join("stranger.xml");
    std::fs::write(&file, auth.ack(&stranger, &[3])).unwrap();
    let err = t.relay.import(&file).await.unwrap_err().to_string();
    assert!(
        err.contains("stranger.xml")
            && err.contains("PID:C9300-24UX,SN:FOC7")
            && err.contains("not in the relay's inventory"),
        "{err}"
    );
    let (answers, devices) = answers_and_devices(&t).await;
    assert!(answers.is_empty(), "nothing of any refused import is stored: {answers:?}");
    assert_eq!(devices.len(), 2, "{devices:?}");
    assert!(!devices.contains(&Some(stranger.udi_text())), "{devices:?}");
    // The device polls and gets nothing yet; the genuine ACK still imports and is delivered.
    assert_eq!(
        t.relay.poll(&dev.udi_text(), pushed.poll_id.as_deref().unwrap()).await.unwrap(),
        None
    );
    assert_eq!(t.relay.import(&genuine).await.unwrap().new, 1);
    let answer =
        t.relay.poll(&dev.udi_text(), pushed.poll_id.as_deref().unwrap()).await.unwrap().unwrap();
    assert!(answer.contains(&auth.key.public_b64()) && !answer.contains(&rogue.key.public_b64()));
}

#[tokio::test]
async fn the_authority_key_is_pinned_from_key_show_output_and_shown() {
    let t = relay().await;
    let auth = Auth::new();
    let shown = format!("Public key: {}\nKey id: {}\n", auth.key.public_b64(), auth.key.key_id());
    let prefs = t
        .relay
        .set_prefs(PrefsChange { authority_key: Some(shown), ..PrefsChange::default() })
        .await
        .unwrap();
    assert_eq!(prefs.authority_key.as_deref(), Some(auth.key.public_b64().as_str()));
    assert_eq!(prefs.authority_key_id, Some(auth.key.key_id()));
    for bad in ["not a key", "AAAA", ""] {
        let err = t
            .relay
            .set_prefs(PrefsChange { authority_key: Some(bad.into()), ..PrefsChange::default() })
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("--authority-key"), "{bad:?}: {err}");
    }
    assert_eq!(t.relay.prefs().await.unwrap().authority_key_id, Some(auth.key.key_id()));
}

/// relay.db holds device passwords and the API client secret: only its owner may read it.
#[cfg(unix)]
#[tokio::test]
async fn the_relay_database_and_its_folder_are_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("R");
    let clock = std::sync::Arc::new(slp_clock::VirtualClock::frozen(
        chrono::DateTime::parse_from_rfc3339("2026-11-01T09:00:00Z").unwrap().to_utc(),
    ));
    let relay = slp_relay::Relay::open(&dir, clock).await.unwrap();
    assert_eq!(mode(&dir), 0o700);
    for name in ["relay.db", "relay.db-wal", "relay.db-shm"] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
    drop(relay);
}
