//! NETCONF subtree filtering (RFC 6241 §6): namespace selection, containment nodes, selection
//! nodes and content match nodes, applied to instance data.

use super::xml::Element;
use super::{Content, Data, NAMESPACE, Tree, YangError};

impl Tree {
    /// The data `filter` (the `<filter type="subtree">` element) selects. An empty filter
    /// selects nothing; a top element in another namespace matches nothing here; an element of
    /// this model's namespace that the model does not have is an `unknown-element` error.
    pub fn filter(&self, filter: &Element) -> Result<Tree, YangError> {
        let mut nodes = Vec::new();
        for top in &filter.children {
            if top.ns.as_deref().is_some_and(|ns| ns != NAMESPACE) {
                continue;
            }
            for data in self.nodes.iter().filter(|d| d.name() == top.name) {
                if let Some(kept) = select(data, top, &format!("/{}", data.name()))? {
                    nodes.push(kept);
                }
            }
            if top.ns.is_some() && !self.nodes.iter().any(|d| d.name() == top.name) {
                return Err(YangError::UnknownElement {
                    parent: "/".into(),
                    name: top.name.clone(),
                });
            }
        }
        Ok(Tree { nodes })
    }
}

fn is_content_match(f: &Element) -> bool {
    f.children.is_empty() && !f.trimmed().is_empty()
}

/// `data` filtered by `f` (same name), or `None` when the filter excludes it.
fn select(data: &Data, f: &Element, path: &str) -> Result<Option<Data>, YangError> {
    if let Content::Leaf(value) = &data.content {
        if !f.children.is_empty() {
            return Ok(None);
        }
        return Ok((f.trimmed().is_empty() || f.trimmed() == value).then(|| data.clone()));
    }
    if f.children.is_empty() {
        // A selection node (a container with text is no content match: nothing).
        return Ok(f.trimmed().is_empty().then(|| data.clone()));
    }
    for child in &f.children {
        if data.schema.child(&child.name).is_none() && child.ns.as_deref() == Some(NAMESPACE) {
            return Err(YangError::UnknownElement {
                parent: path.to_owned(),
                name: child.name.clone(),
            });
        }
    }
    let ours = |f: &&Element| f.ns.as_deref().is_none_or(|ns| ns == NAMESPACE);
    let matches: Vec<&Element> =
        f.children.iter().filter(ours).filter(|c| is_content_match(c)).collect();
    let others: Vec<&Element> =
        f.children.iter().filter(ours).filter(|c| !is_content_match(c)).collect();
    for m in &matches {
        let hit =
            data.children().iter().any(|d| d.name() == m.name && d.value() == Some(m.trimmed()));
        if !hit {
            return Ok(None);
        }
    }
    if others.is_empty() && !matches.is_empty() {
        return Ok(Some(data.clone()));
    }
    let mut kept = Vec::new();
    for child in data.children() {
        if matches.iter().any(|m| m.name == child.name()) {
            kept.push(child.clone());
            continue;
        }
        for other in others.iter().filter(|o| o.name == child.name()) {
            if let Some(sub) = select(child, other, &format!("{path}/{}", child.name()))? {
                kept.push(sub);
                break;
            }
        }
    }
    if kept.is_empty() {
        return Ok(None);
    }
    Ok(Some(Data { schema: data.schema, content: Content::Inner(kept) }))
}
