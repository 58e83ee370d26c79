//! Lists from the command line page (issue #16, defect 8): the remote form (`--url`) reads a
//! long list a page at a time through the API, `--limit/--offset` print one page and say where
//! it is, and a page over the maximum is refused with the maximum named — locally and remotely.

use crate::util::*;

/// Rows seeded in the event log: more than one page of the largest size (1000).
const SEEDED: usize = 1_234;

/// Writes [`SEEDED`] events into example.com / Lab, straight into the authority's database.
fn seed_events(lab: &Lab) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let store = slp_store::Store::open_dir(&lab.path("A")).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let account = tx.account_by_key("example.com").await.unwrap().unwrap();
        let va = tx.va_by_name(account.id, "Lab").await.unwrap().unwrap();
        for i in 0..SEEDED {
            tx.log(slp_store::NewEvent {
                at: 1_794_700_000 + i as i64,
                account_id: Some(account.id),
                va_id: Some(va.id),
                udi: None,
                message: format!("seeded event {i:04}"),
                actor: "test".to_owned(),
            })
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        store.close().await;
    });
}

fn json_rows(text: &str) -> Vec<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(text).unwrap().as_array().unwrap().clone()
}

#[test]
fn the_cli_pages_through_long_lists_and_prints_one_page_on_request() {
    let lab = Lab::new();
    authority(&lab);
    seed_events(&lab);
    let out = auth(
        &lab,
        T0,
        &[
            "client",
            "create",
            "--account",
            "example.com",
            "--name",
            "look",
            "--role",
            "viewer",
            "--json",
        ],
    );
    let client: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (id, secret) =
        (client["client_id"].as_str().unwrap(), client["client_secret"].as_str().unwrap());
    let server =
        start_service(&lab, T0, &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"]);
    let remote = |args: &[&str]| {
        let mut all =
            vec!["authority", "--url", &server.url, "--client-id", id, "--client-secret", secret];
        all.extend_from_slice(args);
        lab.run(T0, &all)
    };
    let list = ["event", "list", "--account", "example.com", "--va", "Lab", "--json"];

    // The whole list, locally and over the API (two requests of 1000 at most): the same rows.
    let local = json_rows(&auth(&lab, T0, &list));
    assert!(local.len() > SEEDED, "{} rows", local.len());
    let out = remote(&list);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let remote_rows = json_rows(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(remote_rows.len(), local.len());
    for (r, l) in remote_rows.iter().zip(&local) {
        assert_eq!(r["message"], l["message"]);
    }

    // One page: the rows at that place, and where they are on stderr.
    let mut page = list.to_vec();
    page.extend_from_slice(&["--limit", "5", "--offset", "1000"]);
    let out = remote(&page);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = json_rows(&String::from_utf8_lossy(&out.stdout));
    let messages: Vec<&serde_json::Value> = rows.iter().map(|r| &r["message"]).collect();
    let expected: Vec<&serde_json::Value> =
        local[1000..1005].iter().map(|r| &r["message"]).collect();
    assert_eq!(messages, expected);
    let told = String::from_utf8_lossy(&out.stderr);
    assert!(told.contains(&format!("rows 1001-1005 of {}", local.len())), "{told}");
    let local_page = json_rows(&auth(&lab, T0, &page));
    assert_eq!(local_page.len(), 5);
    assert_eq!(local_page[0]["message"], local[1000]["message"]);

    // A page over the maximum is refused, naming it, locally and remotely.
    let mut huge = list.to_vec();
    huge.extend_from_slice(&["--limit", "5000"]);
    let out = remote(&huge);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("limit") && err.contains("5000") && err.contains("1000"), "{err}");
    let err = auth_fails(&lab, T0, &huge);
    assert!(err.contains("limit") && err.contains("5000") && err.contains("1000"), "{err}");
    // --offset needs --limit.
    let mut offset_only = list.to_vec();
    offset_only.extend_from_slice(&["--offset", "3"]);
    let err = auth_fails(&lab, T0, &offset_only);
    assert!(err.contains("--limit"), "{err}");
}

#[test]
fn the_relay_inventory_pages() {
    let lab = Lab::new();
    let csv: String = (0..1_050)
        .map(|i| format!("10.9.{}.{}:443,rest-pull,admin,pw\n", i / 250, i % 250))
        .collect();
    std::fs::write(lab.path("pis.csv"), csv).unwrap();
    lab.ok(T0, &["relay", "--data", "R", "pi", "import", "pis.csv"]);
    // The whole inventory (read in two pages), in import order.
    let all = json_rows(&lab.ok(T0, &["relay", "--data", "R", "pi", "list", "--json"]));
    assert_eq!(all.len(), 1_050);
    assert_eq!(all[1_049]["host"], "http://10.9.4.49:443");
    // One page, and where it is.
    let args = ["relay", "--data", "R", "pi", "list", "--json", "--limit", "3", "--offset", "1000"];
    let out = lab.run(T0, &args);
    assert!(out.status.success());
    let page = json_rows(&String::from_utf8_lossy(&out.stdout));
    let hosts: Vec<&serde_json::Value> = page.iter().map(|r| &r["host"]).collect();
    assert_eq!(hosts, [&all[1000]["host"], &all[1001]["host"], &all[1002]["host"]]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("rows 1001-1003 of 1050"));
    // A page over the maximum is refused, naming the bounds.
    let err = lab.fails(T0, &["relay", "--data", "R", "pi", "list", "--limit", "5000"]);
    assert!(err.contains("5000") && err.contains("1..=1000"), "{err}");
}
