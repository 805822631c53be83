// TEMPORARY: stands in for shared_model's ReviewDoc until wt/model is merged.
#![allow(dead_code, unreachable_pub)]
use api_types::{Anchor, Thread, ThreadId, Verdict};
use shared_model::yrs::Doc;
use std::collections::BTreeSet;

pub struct ReviewChanges {
    pub threads: BTreeSet<ThreadId>,
    pub verdicts: bool,
}
#[derive(Clone)]
pub struct ReviewDoc {
    doc: Doc,
}
impl ReviewDoc {
    pub fn empty() -> Self {
        ReviewDoc { doc: Doc::new() }
    }
    pub fn doc(&self) -> &Doc {
        &self.doc
    }
    pub fn threads(&self) -> Vec<Thread> {
        Vec::new()
    }
    pub fn thread(&self, _id: &ThreadId) -> Option<Thread> {
        None
    }
    pub fn verdicts(&self) -> Vec<Verdict> {
        Vec::new()
    }
    pub fn observe<F>(&self, _key: &str, _f: F)
    where
        F: Fn(&ReviewChanges) + Send + Sync + 'static,
    {
    }
    pub fn unobserve(&self, _key: &str) {}
}
pub trait AnchorExt {
    fn to_base64(&self) -> String;
}
impl AnchorExt for shared_model::ScriptAnchor {
    fn to_base64(&self) -> String {
        String::new()
    }
}
pub fn from_base64(_s: &str) -> Result<shared_model::ScriptAnchor, ()> {
    Err(())
}
pub trait ProjectExt {
    fn anchor_text(&self, a: &Anchor) -> Option<String>;
}
impl ProjectExt for shared_model::Project {
    fn anchor_text(&self, _a: &Anchor) -> Option<String> {
        None
    }
}
