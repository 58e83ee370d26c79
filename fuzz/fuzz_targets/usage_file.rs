//! A usage file (`license smart save usage`): a `<smartLicense>` document, its RUM report
//! envelopes and their payloads, and the JSON of each signed element — what `slp authority
//! usage upload` and the relay read from a file nobody vouches for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slp_wire::docs::{SystemInfo, TrustRequest};
use slp_wire::rum::Envelope;
use slp_wire::xml::{Document, Kind};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(document) = Document::parse(text) else { return };
    for report in &document.reports {
        if let Ok(envelope) = Envelope::parse(report) {
            let _ = envelope.report();
            let _ = envelope.verify("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        }
    }
    for info in document.of(Kind::SystemInfo) {
        let _ = info.json::<SystemInfo>();
    }
    for request in document.of(Kind::TrustRequest) {
        let _ = request.json::<TrustRequest>();
    }
    // What is read is written back the same way it is read.
    let again = Document::parse(&document.to_xml()).expect("a parsed document reads back");
    assert_eq!(again, document);
});
