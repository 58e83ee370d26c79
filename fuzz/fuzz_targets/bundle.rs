//! Bundles: a relay's upload bundle (`UD_SA_*.tar.gz` with `manifest.mf`) and the authority's
//! ACK bundle, as `slp authority usage upload` and `slp relay import` read them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slp_wire::bundle;

fuzz_target!(|data: &[u8]| {
    let _ = bundle::is_archive(data);
    let _ = bundle::read_upload(data, "fuzz.tar.gz");
    let _ = bundle::read_ack(data, "fuzz.tar.gz");
    let _ = bundle::read_tar(data, "fuzz.tar");
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = bundle::Manifest::parse(text);
    }
});
