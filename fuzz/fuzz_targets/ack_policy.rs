//! ACK and policy files (`license smart import`): the document, the JSON of the ACK, the trust
//! codes, the policy (and the policy it describes) and the authorization codes it carries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slp_wire::docs::{Authorization, PolicyDoc, RumAck, TrustCode};
use slp_wire::xml::{Document, Kind};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // The JSON of one element alone, and a whole document.
    if let Ok(policy) = serde_json::from_str::<PolicyDoc>(text) {
        let _ = policy.to_policy();
    }
    let _ = serde_json::from_str::<RumAck>(text);
    let Ok(document) = Document::parse(text) else { return };
    for item in &document.items {
        match item.kind {
            Kind::Policy => {
                if let Ok(policy) = item.json::<PolicyDoc>() {
                    let _ = policy.to_policy();
                }
            }
            Kind::RumAck => {
                let _ = item.json::<RumAck>();
            }
            Kind::TrustCode => {
                let _ = item.json::<TrustCode>();
            }
            Kind::Authorization => {
                let _ = item.json::<Authorization>();
            }
            _ => {}
        }
        let _ = item.verify("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "fuzz");
    }
});
