//! The project document in IndexedDB: an append-only log of yrs updates, compacted now and then
//! into one full-state record (the scheme y-indexeddb uses).
//!
//! Every update, local or from the server, is appended as it happens, so a reload (online or
//! offline) rebuilds the last state the page saw, and edits made offline are still there to be
//! sent when the connection comes back.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbTransactionMode};

const STORE: &str = "updates";
/// Updates appended before the log is rewritten as a single state record.
pub(crate) const COMPACT_AFTER: u32 = 300;

#[derive(Debug, Clone)]
pub(crate) struct IdbError(pub String);

impl std::fmt::Display for IdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "local storage: {}", self.0)
    }
}

impl From<JsValue> for IdbError {
    fn from(e: JsValue) -> Self {
        IdbError(
            e.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
                .or_else(|| e.as_string())
                .unwrap_or_else(|| "IndexedDB error".into()),
        )
    }
}

type Result<T, E = IdbError> = std::result::Result<T, E>;

/// Resolves when `request` succeeds (with its result) or fails.
async fn request_done(request: &IdbRequest) -> Result<JsValue> {
    let promise = Promise::new(&mut |resolve, reject| {
        let ok = Closure::once_into_js(move |event: web_sys::Event| {
            let result = event
                .target()
                .and_then(|t| t.dyn_into::<IdbRequest>().ok())
                .and_then(|r| r.result().ok())
                .unwrap_or(JsValue::UNDEFINED);
            let _ = resolve.call1(&JsValue::NULL, &result);
        });
        let failed = Closure::once_into_js(move |event: web_sys::Event| {
            let _ = reject.call1(&JsValue::NULL, &event);
        });
        request.set_onsuccess(Some(ok.unchecked_ref()));
        request.set_onerror(Some(failed.unchecked_ref()));
    });
    Ok(JsFuture::from(promise).await?)
}

/// Resolves when a transaction has committed.
async fn committed(txn: &IdbTransaction) -> Result<()> {
    let promise = Promise::new(&mut |resolve, reject| {
        let ok = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let reject2 = reject.clone();
        let failed = Closure::once_into_js(move |event: web_sys::Event| {
            let _ = reject.call1(&JsValue::NULL, &event);
        });
        let aborted = Closure::once_into_js(move |event: web_sys::Event| {
            let _ = reject2.call1(&JsValue::NULL, &event);
        });
        txn.set_oncomplete(Some(ok.unchecked_ref()));
        txn.set_onerror(Some(failed.unchecked_ref()));
        txn.set_onabort(Some(aborted.unchecked_ref()));
    });
    JsFuture::from(promise).await?;
    Ok(())
}

/// One project's update log.
#[derive(Debug, Clone)]
pub(crate) struct DocStore {
    db: IdbDatabase,
    /// Records in the log, to know when to compact. Shared by clones.
    records: Rc<Cell<u32>>,
}

impl DocStore {
    pub(crate) async fn open(project_id: &str) -> Result<Self> {
        let factory = web_sys::window()
            .and_then(|w| w.indexed_db().ok().flatten())
            .ok_or_else(|| IdbError("IndexedDB is not available".into()))?;
        let request: IdbOpenDbRequest =
            factory.open_with_u32(&format!("shotweave-doc-{project_id}"), 1)?;
        let upgrade = Closure::once_into_js(move |event: web_sys::Event| {
            let db = event
                .target()
                .and_then(|t| t.dyn_into::<IdbRequest>().ok())
                .and_then(|r| r.result().ok())
                .and_then(|r| r.dyn_into::<IdbDatabase>().ok());
            if let Some(db) = db
                && !db.object_store_names().contains(STORE)
            {
                let params = web_sys::IdbObjectStoreParameters::new();
                params.set_auto_increment(true);
                let _ = db.create_object_store_with_optional_parameters(STORE, &params);
            }
        });
        request.set_onupgradeneeded(Some(upgrade.unchecked_ref()));
        let db: IdbDatabase = request_done(&request).await?.dyn_into()?;
        Ok(DocStore {
            db,
            records: Rc::new(Cell::new(0)),
        })
    }

    /// Every stored update, oldest first.
    pub(crate) async fn load(&self) -> Result<Vec<Vec<u8>>> {
        let txn = self.db.transaction_with_str(STORE)?;
        let all = request_done(&txn.object_store(STORE)?.get_all()?).await?;
        let updates: Vec<Vec<u8>> = Array::from(&all)
            .iter()
            .map(|v| Uint8Array::new(&v).to_vec())
            .collect();
        self.records.set(updates.len() as u32);
        Ok(updates)
    }

    /// Appends updates in one transaction; resolves once they are durable.
    pub(crate) async fn append(&self, updates: &[Vec<u8>]) -> Result<()> {
        let txn = self
            .db
            .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)?;
        let store = txn.object_store(STORE)?;
        for update in updates {
            store.add(&Uint8Array::from(update.as_slice()))?;
        }
        committed(&txn).await?;
        self.records.set(self.records.get() + updates.len() as u32);
        Ok(())
    }

    pub(crate) fn needs_compaction(&self) -> bool {
        self.records.get() > COMPACT_AFTER
    }

    /// Replaces the log with one full-state record, atomically.
    pub(crate) async fn compact(&self, state: &[u8]) -> Result<()> {
        let txn = self
            .db
            .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)?;
        let store = txn.object_store(STORE)?;
        store.clear()?;
        store.add(&Uint8Array::from(state))?;
        committed(&txn).await?;
        self.records.set(1);
        Ok(())
    }
}
