//! A small namespace-aware XML element tree (quick-xml underneath) for NETCONF messages and
//! `<config>` payloads: each element with its resolved namespace, its attributes and its text.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// Deepest element nesting accepted (a NETCONF message on this model needs about 10).
pub const MAX_DEPTH: usize = 64;

/// One element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// The local name (`rpc`, `licensing`).
    pub name: String,
    /// The namespace the element's prefix (or the default namespace) resolves to.
    pub ns: Option<String>,
    /// Attributes: local name, namespace, value.
    pub attrs: Vec<Attr>,
    pub children: Vec<Element>,
    /// The element's text (concatenated, unescaped; whitespace kept).
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub name: String,
    pub ns: Option<String>,
    /// The attribute as written (`nc:operation`), to echo it back.
    pub qname: String,
    pub value: String,
}

impl Element {
    /// The first child element named `name` (any namespace).
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The value of the attribute with local name `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|a| a.name == name).map(|a| a.value.as_str())
    }

    /// The text without surrounding whitespace.
    pub fn trimmed(&self) -> &str {
        self.text.trim()
    }

    /// An element without children and with only whitespace text.
    pub fn is_empty(&self) -> bool {
        self.children.is_empty() && self.text.trim().is_empty()
    }
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed XML: {0}")]
pub struct XmlError(pub String);

/// Parses one document and returns its root element.
pub fn parse(text: &str) -> Result<Element, XmlError> {
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let (resolved, event) =
            reader.read_resolved_event().map_err(|err| XmlError(err.to_string()))?;
        let is_empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(start) | Event::Empty(start) => {
                if root.is_some() {
                    return Err(XmlError("content after the root element".into()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError(format!("elements nested deeper than {MAX_DEPTH}")));
                }
                let ns = namespace(&resolved, "element")?;
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                let mut attrs = Vec::new();
                for attr in start.attributes() {
                    let attr = attr.map_err(|err| XmlError(err.to_string()))?;
                    let qname = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
                    if qname == "xmlns" || qname.starts_with("xmlns:") {
                        continue;
                    }
                    let (resolved, local) = reader.resolve_attribute(attr.key);
                    let ns = match resolved {
                        ResolveResult::Bound(ns) => {
                            Some(String::from_utf8_lossy(ns.as_ref()).into_owned())
                        }
                        ResolveResult::Unbound => None,
                        ResolveResult::Unknown(prefix) => {
                            return Err(XmlError(format!(
                                "attribute {qname:?} uses the undeclared prefix {:?}",
                                String::from_utf8_lossy(&prefix)
                            )));
                        }
                    };
                    let value = attr.unescape_value().map_err(|err| XmlError(err.to_string()))?;
                    attrs.push(Attr {
                        name: String::from_utf8_lossy(local.as_ref()).into_owned(),
                        ns,
                        qname,
                        value: value.into_owned(),
                    });
                }
                let element =
                    Element { name, ns, attrs, children: Vec::new(), text: String::new() };
                stack.push(element);
                if is_empty {
                    close(&mut stack, &mut root);
                }
            }
            Event::End(_) => close(&mut stack, &mut root),
            Event::Text(t) => {
                let text = t.unescape().map_err(|err| XmlError(err.to_string()))?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(XmlError("text outside the root element".into())),
                }
            }
            Event::CData(t) => {
                let text = String::from_utf8_lossy(&t.into_inner()).into_owned();
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&text),
                    None => return Err(XmlError("CDATA outside the root element".into())),
                }
            }
            Event::DocType(_) => return Err(XmlError("a DOCTYPE is not allowed".into())),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError(format!("element <{}> is not closed", stack[stack.len() - 1].name)));
    }
    root.ok_or_else(|| XmlError("no root element".into()))
}

fn close(stack: &mut Vec<Element>, root: &mut Option<Element>) {
    if let Some(done) = stack.pop() {
        match stack.last_mut() {
            Some(parent) => parent.children.push(done),
            None => *root = Some(done),
        }
    }
}

fn namespace(resolved: &ResolveResult, what: &str) -> Result<Option<String>, XmlError> {
    match resolved {
        ResolveResult::Bound(ns) => Ok(Some(String::from_utf8_lossy(ns.as_ref()).into_owned())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(prefix) => Err(XmlError(format!(
            "{what} uses the undeclared prefix {:?}",
            String::from_utf8_lossy(prefix)
        ))),
    }
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped.
pub fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_attributes_and_text_are_resolved() {
        let doc = parse(
            r#"<?xml version="1.0"?><rpc message-id="1" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:x="urn:x"><get><x:a x:op="m">t &amp; u</x:a><b/></get></rpc>"#,
        )
        .unwrap();
        assert_eq!(doc.name, "rpc");
        assert_eq!(doc.ns.as_deref(), Some("urn:ietf:params:xml:ns:netconf:base:1.0"));
        assert_eq!(doc.attr("message-id"), Some("1"));
        let get = doc.child("get").unwrap();
        let a = get.child("a").unwrap();
        assert_eq!(a.ns.as_deref(), Some("urn:x"));
        assert_eq!(a.text, "t & u");
        assert_eq!(a.attrs[0].ns.as_deref(), Some("urn:x"));
        assert!(get.child("b").unwrap().is_empty());
    }

    #[test]
    fn broken_documents_are_refused() {
        for bad in ["<a><b></a>", "<a>", "", "<a/><b/>", "<p:a/>", "<!DOCTYPE a><a/>", "x<a/>"] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).unwrap_err().0.contains("deeper"));
    }
}
