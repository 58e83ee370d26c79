//! The push body a device sends to the relay (`POST /cslu/v1/pi`) and to the authority's
//! smart transport (`/licservice/license`): the `slp_wire::online` envelope and the
//! `<smartLicense>` document it carries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slp_wire::online::Request;
use slp_wire::xml::Document;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = Request::parse(data) else { return };
    if let Some(text) = &request.data.smart_license {
        let _ = Document::parse(text);
    }
});
