//! The authority API's JSON bodies from clients: `reportusage` and `authrequest` (read as the
//! API reads them, then turned into the `<smartLicense>` documents the upload path takes, and
//! their reports read), and `poll`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slp_authority::cssm;
use slp_wire::cssm::report::{AuthRequestRequest, PollRequest, ReportUsageRequest};
use slp_wire::rum::Envelope;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = serde_json::from_slice::<ReportUsageRequest>(data) {
        for (i, entry) in request.data.reports.iter().enumerate() {
            if let Ok((_, _, document)) = cssm::usage_document(entry, &format!("data.reports[{i}]"))
            {
                for report in &document.reports {
                    if let Ok(envelope) = Envelope::parse(report) {
                        let _ = envelope.report();
                    }
                }
            }
        }
    }
    if let Ok(request) = serde_json::from_slice::<AuthRequestRequest>(data) {
        for (i, entry) in request.data.licenses.iter().enumerate() {
            let _ = cssm::license_document(entry, &format!("data.licenses[{i}]"));
        }
    }
    if let Ok(request) = serde_json::from_slice::<PollRequest>(data) {
        let _ = request.data.poll_id.text();
    }
});
