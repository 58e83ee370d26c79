//! `<smartLicense>` documents: the one container for every file slp writes or reads.
//!
//! ```text
//! <smartLicense>
//!   <RUMReport><![CDATA[{payload, header, signature}]]></RUMReport>            (repeated)
//!   <smartLicenseSystemInfo><data>{json}</data></smartLicenseSystemInfo>
//!   <smartLicenseRumAck><data>{json}</data><signature alg="ed25519" key="ID">b64</signature></smartLicenseRumAck>
//!   ...
//! </smartLicense>
//! ```
//! A signed element's signature covers the exact (unescaped) text of its `<data>`.
//!
//! A stand-alone policy file (CSSM's "Reports > Reporting Policy" download, PROTOCOL.md §3.2)
//! has the policy element itself as its root, `<smartLicensePolicy><data>…</data><signature …/>
//! </smartLicensePolicy>` ([`Document::policy_file`]); [`Document::parse`] reads it as a document
//! holding that one policy, beside the `<smartLicense>` form (a policy inside an ACK).

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::keys::{self, KeyPair};
use crate::{Result, WireError};

/// The kinds of element a `<smartLicense>` document holds, besides RUM reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    SystemInfo,
    TrustRequest,
    AuthRequest,
    AuthReturn,
    RumAck,
    Policy,
    TrustCode,
    Authorization,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::SystemInfo,
        Kind::TrustRequest,
        Kind::AuthRequest,
        Kind::AuthReturn,
        Kind::RumAck,
        Kind::Policy,
        Kind::TrustCode,
        Kind::Authorization,
    ];

    pub fn element(self) -> &'static str {
        match self {
            Kind::SystemInfo => "smartLicenseSystemInfo",
            Kind::TrustRequest => "smartLicenseTrustRequest",
            Kind::AuthRequest => "smartLicenseAuthRequest",
            Kind::AuthReturn => "smartLicenseAuthReturn",
            Kind::RumAck => "smartLicenseRumAck",
            Kind::Policy => "smartLicensePolicy",
            Kind::TrustCode => "smartLicenseTrustCode",
            Kind::Authorization => "smartLicenseAuthorization",
        }
    }

    fn from_element(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|it| it.element() == name)
    }
}

/// A signature on a `<data>` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub alg: String,
    pub key: String,
    pub value: String,
}

/// One element with JSON data and an optional signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub kind: Kind,
    pub data: String,
    pub signature: Option<Signature>,
}

impl Signed {
    /// Signs `data` with `key`.
    pub fn sign(kind: Kind, data: String, key: &KeyPair) -> Signed {
        let signature = Signature {
            alg: "ed25519".to_owned(),
            key: key.key_id(),
            value: key.sign(data.as_bytes()),
        };
        Signed { kind, data, signature: Some(signature) }
    }

    pub fn unsigned(kind: Kind, data: String) -> Signed {
        Signed { kind, data, signature: None }
    }

    /// Checks the signature against `public_b64`; `what` names the document in errors.
    pub fn verify(&self, public_b64: &str, what: &str) -> Result<()> {
        let signature = self
            .signature
            .as_ref()
            .ok_or_else(|| WireError::Missing { what: format!("signature of {what}") })?;
        if signature.alg != "ed25519" || keys::key_id(public_b64)? != signature.key {
            return Err(WireError::Signature {
                what: format!("{what} (signed with {} key {})", signature.alg, signature.key),
            });
        }
        keys::verify(public_b64, self.data.as_bytes(), &signature.value, what)
    }

    /// Reads the data as JSON of type `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(&self.data).map_err(|err| WireError::Json {
            what: self.kind.element().to_owned(),
            reason: err.to_string(),
        })
    }
}

/// A whole `<smartLicense>` document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    /// RUM report envelopes (JSON text), in file order.
    pub reports: Vec<String>,
    pub items: Vec<Signed>,
}

/// Escapes an attribute value (`<`, `>`, `&`, `'` and `"`).
fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

/// Escapes element text: `<`, `>` and `&` only. Quotes need no escape outside attributes, and
/// the JSON inside every element is full of them (escaped, they made a document a quarter
/// longer); any XML reader reads both forms the same.
fn escape_text(text: &str) -> String {
    quick_xml::escape::partial_escape(text).into_owned()
}

impl Document {
    /// The items of one kind.
    pub fn of(&self, kind: Kind) -> impl Iterator<Item = &Signed> {
        self.items.iter().filter(move |it| it.kind == kind)
    }

    /// Writes the document as XML text.
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<smartLicense>\n");
        for report in &self.reports {
            let safe = report.replace("]]>", "]]]]><![CDATA[>");
            out.push_str(&format!("<RUMReport><![CDATA[{safe}]]></RUMReport>\n"));
        }
        for item in &self.items {
            Self::write_item(&mut out, item);
        }
        out.push_str("</smartLicense>\n");
        out
    }

    /// Writes a stand-alone policy file: `item` (a [`Kind::Policy`]) as the root element,
    /// `<smartLicensePolicy>`, the way CSSM's policy download is shaped.
    pub fn policy_file(item: &Signed) -> Result<String> {
        if item.kind != Kind::Policy {
            return Err(WireError::Xml {
                reason: format!(
                    "a stand-alone policy file holds <{}>, not <{}>",
                    Kind::Policy.element(),
                    item.kind.element()
                ),
            });
        }
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        Self::write_item(&mut out, item);
        Ok(out)
    }

    fn write_item(out: &mut String, item: &Signed) {
        let name = item.kind.element();
        out.push_str(&format!("<{name}><data>{}</data>", escape_text(&item.data)));
        if let Some(sig) = &item.signature {
            out.push_str(&format!(
                "<signature alg=\"{}\" key=\"{}\">{}</signature>",
                escape(&sig.alg),
                escape(&sig.key),
                escape_text(&sig.value)
            ));
        }
        out.push_str(&format!("</{name}>\n"));
    }

    /// Reads a document: a `<smartLicense>` container, or a stand-alone `<smartLicensePolicy>`
    /// (read as a document holding that one policy). Unknown elements are an error so that
    /// nothing is silently dropped.
    pub fn parse(text: &str) -> Result<Document> {
        let mut reader = Reader::from_str(text);
        reader.config_mut().trim_text(false);
        let xml_err = |reason: String| WireError::Xml { reason };
        let mut doc = Document::default();
        // Path of open element names below the root.
        let mut stack: Vec<String> = Vec::new();
        let mut seen_root = false;
        let mut standalone = false;
        let mut text_buf = String::new();
        let mut current: Option<Signed> = None;
        let mut sig_attrs: Option<(String, String)> = None;
        loop {
            let event = reader
                .read_event()
                .map_err(|err| xml_err(format!("at byte {}: {err}", reader.buffer_position())))?;
            match event {
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
                Event::Start(start) => {
                    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                    if !seen_root {
                        seen_root = true;
                        if name == Kind::Policy.element() {
                            // A stand-alone policy file: read as if inside <smartLicense>.
                            standalone = true;
                            stack.push(String::new());
                        } else if name != "smartLicense" {
                            return Err(xml_err(format!(
                                "root element is <{name}>, expected <smartLicense> or <{}>",
                                Kind::Policy.element()
                            )));
                        } else {
                            stack.push(name);
                            continue;
                        }
                    }
                    match stack.len() {
                        1 => {
                            if name != "RUMReport" {
                                let kind = Kind::from_element(&name)
                                    .ok_or_else(|| xml_err(format!("unknown element <{name}>")))?;
                                current = Some(Signed::unsigned(kind, String::new()));
                            }
                        }
                        2 if current.is_some() && (name == "data" || name == "signature") => {
                            if name == "signature" {
                                let mut alg = String::new();
                                let mut key = String::new();
                                for attr in start.attributes() {
                                    let attr = attr.map_err(|err| xml_err(err.to_string()))?;
                                    let value = attr
                                        .unescape_value()
                                        .map_err(|err| xml_err(err.to_string()))?
                                        .into_owned();
                                    match attr.key.as_ref() {
                                        b"alg" => alg = value,
                                        b"key" => key = value,
                                        _ => {}
                                    }
                                }
                                sig_attrs = Some((alg, key));
                            }
                        }
                        _ => {
                            return Err(xml_err(format!(
                                "unexpected element <{name}> inside <{}>",
                                stack.join("/")
                            )));
                        }
                    }
                    text_buf.clear();
                    stack.push(name);
                }
                Event::Empty(start) => {
                    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                    return Err(xml_err(format!("empty element <{name}/>")));
                }
                Event::Text(text) => {
                    let text = text.unescape().map_err(|err| xml_err(err.to_string()))?;
                    text_buf.push_str(&text);
                }
                Event::CData(data) => {
                    text_buf.push_str(&String::from_utf8_lossy(&data.into_inner()));
                }
                Event::End(end) => {
                    let name = String::from_utf8_lossy(end.name().as_ref()).into_owned();
                    stack.pop();
                    match (stack.len(), name.as_str()) {
                        (1, "RUMReport") => doc.reports.push(text_buf.trim().to_owned()),
                        (1, _) => {
                            let item = current
                                .take()
                                .ok_or_else(|| xml_err(format!("stray </{name}>")))?;
                            if item.data.is_empty() {
                                return Err(WireError::Missing {
                                    what: format!("<data> of <{name}>"),
                                });
                            }
                            doc.items.push(item);
                            if standalone {
                                stack.pop();
                            }
                        }
                        (2, "data") => {
                            if let Some(item) = current.as_mut() {
                                item.data = text_buf.trim().to_owned();
                            }
                        }
                        (2, "signature") => {
                            if let (Some(item), Some((alg, key))) =
                                (current.as_mut(), sig_attrs.take())
                            {
                                item.signature =
                                    Some(Signature { alg, key, value: text_buf.trim().to_owned() });
                            }
                        }
                        _ => {}
                    }
                    text_buf.clear();
                }
                Event::Eof => break,
            }
        }
        if !seen_root {
            return Err(xml_err("no <smartLicense> element".to_owned()));
        }
        if !stack.is_empty() {
            return Err(xml_err(format!("document ends inside <{}>", stack.join("/"))));
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_reports_and_signed_items() {
        let key = KeyPair::generate();
        let doc = Document {
            reports: vec![r#"{"payload":"{\"a\":\"<&>\"}","header":{"type":"rum"}}"#.to_owned()],
            items: vec![
                Signed::unsigned(Kind::SystemInfo, r#"{"hostname":"sw1 & co"}"#.to_owned()),
                Signed::sign(Kind::RumAck, r#"{"ack_id":"x<y"}"#.to_owned(), &key),
            ],
        };
        let xml = doc.to_xml();
        // Element text keeps its quotes; markup characters are escaped.
        assert!(xml.contains(r#"<data>{"hostname":"sw1 &amp; co"}</data>"#), "{xml}");
        assert!(xml.contains(r#"{"ack_id":"x&lt;y"}"#), "{xml}");
        let back = Document::parse(&xml).unwrap();
        assert_eq!(back, doc);
        back.of(Kind::RumAck).next().unwrap().verify(&key.public_b64(), "ACK").unwrap();
        // A document whose quotes are escaped (as slp wrote them before) reads the same.
        let quoted = xml.replace(
            r#"{"hostname":"sw1 &amp; co"}"#,
            "{&quot;hostname&quot;:&quot;sw1 &amp; co&quot;}",
        );
        assert_eq!(Document::parse(&quoted).unwrap(), doc);
    }

    #[test]
    fn a_policy_file_has_the_policy_as_its_root_and_reads_back() {
        let key = KeyPair::generate();
        let policy = Signed::sign(Kind::Policy, r#"{"name":"P & Q"}"#.to_owned(), &key);
        let file = Document::policy_file(&policy).unwrap();
        let root = file.lines().nth(1).unwrap_or_default();
        assert!(root.starts_with("<smartLicensePolicy><data>"), "{file}");
        assert!(!file.contains("<smartLicense>"), "{file}");
        let back = Document::parse(&file).unwrap();
        assert_eq!(back, Document { reports: vec![], items: vec![policy.clone()] });
        back.of(Kind::Policy).next().unwrap().verify(&key.public_b64(), "policy").unwrap();
        // Only a policy stands alone; a second root is refused.
        let ack = Signed::unsigned(Kind::RumAck, "{}".to_owned());
        let err = Document::policy_file(&ack).unwrap_err().to_string();
        assert!(err.contains("not <smartLicenseRumAck>"), "{err}");
        let err = Document::parse(&format!("{file}{}", file.lines().nth(1).unwrap_or_default()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unexpected element <smartLicensePolicy>"), "{err}");
        let err = Document::parse("<smartLicenseRumAck><data>{}</data></smartLicenseRumAck>")
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected <smartLicense> or <smartLicensePolicy>"), "{err}");
    }

    #[test]
    fn malformed_documents_name_the_problem() {
        let err = Document::parse("<smartLicense><RUMReport>").unwrap_err().to_string();
        assert!(err.contains("malformed XML"), "{err}");
        let err = Document::parse("<other/>").unwrap_err().to_string();
        assert!(err.contains("<other/>") || err.contains("<other>"), "{err}");
        let err = Document::parse("<smartLicense><bogus><data>x</data></bogus></smartLicense>")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown element <bogus>"), "{err}");
        let err = Document::parse("not xml at all").unwrap_err().to_string();
        assert!(err.contains("smartLicense"), "{err}");
    }
}
